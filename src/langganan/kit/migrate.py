"""Running the Alembic migrations from the installed package."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "langganan:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def is_empty(engine: Engine) -> bool:
    return VERSION_TABLE not in inspect(engine).get_table_names()


@cache
def heads() -> frozenset[str]:
    """The revisions this version's migrations end at (one, unless the chain forks); read once per process
    (alembic compiles every migration script to read them)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current(connection: Connection) -> frozenset[str]:
    """The revisions the database is at (what `alembic current` reads); empty when it was never migrated."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
