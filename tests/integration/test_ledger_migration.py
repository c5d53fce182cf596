"""Migration 0016 on each backend: a database filled under the previous schema (usage events in
`usage_events` beside their ledger entries) is upgraded; each accepted event becomes its usage debit,
repeats of its id are answered as before, and `verify` finds the books whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import BigInteger, String, column, create_engine, inspect, table, text, update

from langganan.app import create_app, open_database, prepare
from langganan.kit.db import Database, UTCDateTime
from langganan.kit.migrate import alembic_config, upgrade
from langganan.usage.service import UsageIn
from tests.conftest import ADMIN_KEY, Env, make_settings, own_pg_database

OCCURRED = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
AS_SENT = datetime(2026, 1, 15, 9, 0, tzinfo=timezone(timedelta(hours=7)))  # the same instant, as the SaaS sent it

OLD_EVENTS = table("usage_events", column("id", String), column("account_id", String), column("meter", String),
                   column("quantity", BigInteger), column("amount", BigInteger), column("balance_after", BigInteger),
                   column("body_hash", String), column("occurred_at", UTCDateTime()),
                   column("created_at", UTCDateTime()))
OLD_ENTRIES = table("wallet_entries", column("wallet_id", String), column("type", String),
                    column("amount", BigInteger), column("granted_amount", BigInteger),
                    column("balance_after", BigInteger), column("meter", String), column("quantity", BigInteger),
                    column("reference", String), column("created_at", UTCDateTime()))
WALLETS = table("wallets", column("id", String), column("balance", BigInteger), column("granted_balance", BigInteger))


@contextmanager
def _served(db: Database) -> Iterator[Env]:
    settings = make_settings(db)
    with TestClient(create_app(settings, db)) as client:
        yield Env(db=db, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def _urls(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        upgrade(url)
        yield url
    else:
        yield from own_pg_database(request, "ledger_migration")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_usage_events_of_the_previous_schema_become_usage_debits(backend: str, request: pytest.FixtureRequest,
                                                                 tmp_path: Path) -> None:
    for url in _urls(backend, request, tmp_path):
        db = open_database(url)
        prepare(make_settings(db), db, migrate_if_empty=False)
        with _served(db) as env:  # an account with granted credit to spend
            acc = env.account()["id"]
            env.buy(acc, "growth")
            env.ok(env.post("/v1/usage", {"id": "new-1", "account_id": acc, "meter": "conversation_reply"}), 201)
        db.dispose()

        # Back to the previous schema, and usage written the way it wrote it: an event row and its entry.
        command.downgrade(alembic_config(url), "0015")
        engine = create_engine(url)
        event = UsageIn("old-1", acc, "conversation_reply", 2, AS_SENT)
        with engine.begin() as conn:
            wallet_id, balance, granted = conn.execute(text(
                "SELECT id, balance, granted_balance FROM wallets WHERE account_id = :a AND kind = 'conversation'"),
                {"a": acc}).one()
            after = balance - 60
            conn.execute(OLD_EVENTS.insert().values(
                id=event.id, account_id=acc, meter=event.meter, quantity=2, amount=60, balance_after=after,
                body_hash=event.body_hash(), occurred_at=OCCURRED, created_at=OCCURRED))
            conn.execute(OLD_ENTRIES.insert().values(
                wallet_id=wallet_id, type="usage", amount=-60, granted_amount=-min(granted, 60), balance_after=after,
                meter=event.meter, quantity=2, reference=event.id, created_at=OCCURRED))
            conn.execute(update(WALLETS).where(WALLETS.c.id == wallet_id).values(
                balance=after, granted_balance=granted - min(granted, 60)))
            assert conn.execute(text("SELECT count(*) FROM usage_events")).scalar() == 2

        upgrade(url)
        assert "usage_events" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            rows = {r.reference: r for r in conn.execute(text(
                "SELECT reference, body_hash, occurred_at, amount, balance_after FROM wallet_entries "
                "WHERE type = 'usage' ORDER BY id"))}
        engine.dispose()
        assert set(rows) == {"new-1", "old-1"}
        assert rows["old-1"].body_hash == event.body_hash() and rows["new-1"].body_hash is not None
        assert str(rows["old-1"].occurred_at).startswith("2026-01-15 02:00:00")

        db = open_database(url)
        with _served(db) as env:
            again = env.ok(env.post("/v1/usage", {"id": "old-1", "account_id": acc, "meter": "conversation_reply",
                                                  "quantity": 2, "occurred_at": "2026-01-15T09:00:00+07:00"}))
            assert (again["status"], again["amount"], again["balance_after"]) == ("duplicate", 60, after)
            other = env.post("/v1/usage", {"id": "old-1", "account_id": acc, "meter": "conversation_reply"})
            assert other.status_code == 409 and other.json()["error"]["code"] == "event_id_conflict"
            assert env.wallet(acc)["balance"] == after
            env.assert_books()
        db.dispose()


def test_an_accepted_event_without_its_debit_stops_the_upgrade(tmp_path: Path) -> None:
    """It would be lost: the books need a look first (verify calls it usage_not_debited)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    db = open_database(url)
    prepare(make_settings(db), db, migrate_if_empty=False)
    with _served(db) as env:
        acc = env.account()["id"]
    db.dispose()
    command.downgrade(alembic_config(url), "0015")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(OLD_EVENTS.insert().values(id="lost", account_id=acc, meter="conversation_reply", quantity=1,
                                                amount=30, balance_after=0, body_hash="0" * 32, occurred_at=None,
                                                created_at=OCCURRED))
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 accepted usage events have no usage debit"):
        upgrade(url)
