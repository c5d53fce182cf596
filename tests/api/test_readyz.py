"""GET /readyz (issue 17, "Observe"): 200 when the database answers and is migrated to this version's head,
503 in the error shape saying which otherwise; /healthz (alive) is not /readyz (ready to serve)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from langganan.app import create_app, open_database
from langganan.kit.migrate import alembic_config, heads, upgrade
from tests.conftest import Env, make_settings, own_pg_database

HEAD = sorted(heads())


def previous_revision() -> str:
    """The revision one migration behind this version's head."""
    script = ScriptDirectory.from_config(alembic_config(""))
    (head,) = script.get_heads()
    down = script.get_revision(head).down_revision
    assert isinstance(down, str)
    return down


def readyz(url: str, *, alive: bool = False) -> tuple[int, dict[str, object], dict[str, str]]:
    """/readyz of an app on the database at `url`; `alive`: /healthz answers 200 meanwhile."""
    db = open_database(url)
    try:
        with TestClient(create_app(make_settings(db), db)) as client:
            res = client.get("/readyz")
            assert not alive or client.get("/healthz").status_code == 200
            return res.status_code, res.json(), dict(res.headers)
    finally:
        db.dispose()


def test_ready_when_the_database_answers_at_the_head_revision(env: Env) -> None:
    res = env.client.get("/readyz", headers={})  # no API key: a load balancer asks
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "ready" and res.json()["revision"] == ", ".join(HEAD)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def behind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database one migration behind this version."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'behind.db'}"
        upgrade(url, previous_revision())
        yield url
    else:
        for url in own_pg_database(request, "readyz"):
            command.downgrade(alembic_config(url), "-1")
            yield url


def test_a_database_one_migration_behind_is_alive_but_not_ready_until_migrated(behind: str) -> None:
    status, body, headers = readyz(behind, alive=True)
    assert status == 503 and headers["retry-after"] == "5"
    error = body["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["current"], error["head"]) == ("migrations_not_current", [previous_revision()], HEAD)
    assert "langganan migrate" in error["message"]
    upgrade(behind)
    status, body, _ = readyz(behind, alive=True)
    assert status == 200 and body["status"] == "ready", body


@pytest.mark.parametrize("url", ["sqlite:////nonexistent-langganan-dir/x.db", pytest.param(
    "postgresql+psycopg://postgres@127.0.0.1:1/langganan", marks=pytest.mark.postgres)])
def test_a_database_that_does_not_answer_is_not_ready(url: str) -> None:
    status, body, headers = readyz(url)
    assert status == 503 and headers["retry-after"] == "5"
    assert body == {"error": {"type": "api_error", "code": "database_unreachable",
                              "message": "The database does not answer.", "param": None}}


def test_a_database_never_migrated_is_not_ready(tmp_path: Path) -> None:
    status, body, _ = readyz(f"sqlite:///{tmp_path / 'empty.db'}")
    error = body["error"]
    assert status == 503 and isinstance(error, dict)
    assert (error["code"], error["current"]) == ("migrations_not_current", [])
