"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from langganan.accounts import service as accounts
from langganan.app import open_database, prepare
from langganan.history.repository import include_name
from langganan.kit.db import Database
from langganan.kit.migrate import alembic_config, upgrade
from langganan.models import metadata
from langganan.onboarding import service as onboarding
from tests.conftest import CLOCK_START, make_settings


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), metadata)
    assert diff == []


def test_subscriptions_from_before_the_lifecycle_migration_are_due_at_once_without_late_notices(
        tmp_path: Path) -> None:
    """A database that ran under migration 0004 (no due columns yet) is upgraded: each subscription is due
    at once (next_due_at = its period start) and notices before the upgrade count as sent (due_cursor =
    the engine clock's now), so the runner's first look issues what is due without late reminders."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = open_database(url)
    prepare(make_settings(db), db)  # the clock is frozen at CLOCK_START
    with db.transaction() as s:
        account = onboarding.create(s, accounts.NewAccount(name="Lama", email="lama@example.id"), CLOCK_START)
        account_id = account.id
    db.dispose()
    command.downgrade(alembic_config(url), "0004")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT current_period_start, next_due_at, due_cursor FROM subscriptions "
                                "WHERE account_id = :a"), {"a": account_id}).one()
    engine.dispose()
    assert row.next_due_at == row.current_period_start
    assert str(row.due_cursor).startswith(CLOCK_START.strftime("%Y-%m-%d %H:%M:%S"))


def test_anchor_time_is_filled_from_each_period_start_in_the_account_zone(tmp_path: Path) -> None:
    """Migration 0011 gives subscriptions from before it the local time of day of their period start."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = open_database(url)
    prepare(make_settings(db), db)  # the clock is frozen at CLOCK_START
    with db.transaction() as s:
        ids = [onboarding.create(s, accounts.NewAccount(name=f"Toko {tz}", email=f"{n}@example.id", timezone=tz),
                               CLOCK_START).id for n, tz in enumerate(("Asia/Jakarta", "America/New_York"))]
    db.dispose()
    command.downgrade(alembic_config(url), "0010")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        times = [conn.execute(text("SELECT anchor_time FROM subscriptions WHERE account_id = :a"), {"a": a}).scalar()
                 for a in ids]
    engine.dispose()
    expected = [CLOCK_START.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S") for tz in ("Asia/Jakarta",
                                                                                       "America/New_York")]
    assert [str(t)[:8] for t in times] == expected


def test_renewals_issued_twice_for_one_period_before_0012_keep_the_live_one(tmp_path: Path) -> None:
    """Migration 0012 makes an expired or failed renewal count as the period's one renewal (rule 4). A
    database where the old catch-up defect issued a period's renewal two or three times keeps the live
    (unpaid or paid) one, or else the first issued, and marks the others canceled; then the index holds."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = open_database(url)
    prepare(make_settings(db), db)
    with db.transaction() as s:
        account_id = onboarding.create(s, accounts.NewAccount(name="Lama", email="lama@example.id"), CLOCK_START).id
    db.dispose()
    command.downgrade(alembic_config(url), "0011")
    engine = create_engine(url)
    rows = [("a1", "INV/2026/02/00001", "2026-02-15", "expired", "2026-02-16 03:00:00"),
            ("a2", "INV/2026/02/00002", "2026-02-15", "expired", "2026-02-20 03:00:00"),
            ("a3", "INV/2026/02/00003", "2026-02-15", "paid", "2026-02-21 03:00:00"),
            ("b1", "INV/2026/03/00001", "2026-03-15", "failed", "2026-03-15 03:00:00"),
            ("b2", "INV/2026/03/00002", "2026-03-15", "expired", "2026-03-22 03:00:00"),
            ("c1", "INV/2026/04/00001", "2026-04-15", "expired", "2026-04-15 03:00:00")]
    with engine.begin() as conn:
        sub_id = conn.execute(text("SELECT id FROM subscriptions WHERE account_id = :a"), {"a": account_id}).scalar()
        for inv_id, number, start, status, issued in rows:
            conn.execute(text(
                "INSERT INTO invoices (id, number, account_id, subscription_id, type, status, currency, subtotal, "
                "discount, tax, tax_rate_bps, total, seller, buyer, action, period_start, issued_at) VALUES "
                "(:id, :number, :acc, :sub, 'renewal', :status, 'IDR', 1, 0, 0, 0, 1, '{}', '{}', '{}', :start, "
                ":issued)"), {"id": inv_id, "number": number, "acc": account_id, "sub": sub_id, "status": status,
                              "start": f"{start} 03:00:00.000000", "issued": issued})
    upgrade(url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM invoices")).all())
    engine.dispose()
    assert statuses == {"a1": "canceled", "a2": "canceled", "a3": "paid", "b1": "failed", "b2": "canceled",
                        "c1": "expired"}


def test_receipts_are_filled_in_for_money_recorded_before_migration_0014(tmp_path: Path) -> None:
    """A database from before payment_receipts (0013) is upgraded: each stored gateway notification and
    each succeeded card or manual payment becomes a receipt, so `verify` finds the books whole."""
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from langganan.app import create_app
    from langganan.payments.models import PaymentReceipt
    from langganan.verify import violations
    from tests.conftest import ADMIN_KEY, Env

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = open_database(url)
    settings = make_settings(db)
    prepare(settings, db)
    with TestClient(create_app(settings, db)) as client:
        env = Env(db=db, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        by_transfer = env.ok(env.post(f"/v1/accounts/{env.account()['id']}/subscription/change",
                                      {"plan": "growth"}))["invoice"]
        env.pay_va(by_transfer, by_transfer["total"] + 5000)  # paid, Rp5.000 held
        carded = env.account()
        env.ok(env.post(f"/v1/accounts/{carded['id']}/subscription/change",
                        {"plan": "pro", "payment_method": "card", "payment_method_id": env.card(carded["id"])}))
        by_hand = env.ok(env.post(f"/v1/accounts/{env.account()['id']}/subscription/change",
                                  {"plan": "starter"}))["invoice"]
        env.ok(env.post(f"/v1/invoices/{by_hand['id']}/mark-paid", {"reference": "BCA-1"}))
        env.ok(env.post("/v1/sandbox/bank-transfers", {"va_number": "8808000000000000", "amount": 7000}))
    with db.transaction() as s:
        before = sorted((r.amount, r.account_id is None) for r in s.scalars(select(PaymentReceipt)))
    db.dispose()
    command.downgrade(alembic_config(url), "0013")
    upgrade(url)
    db = open_database(url)
    with db.transaction() as s:
        after = sorted((r.amount, r.account_id is None) for r in s.scalars(select(PaymentReceipt)))
        assert s.scalar(select(func.count()).select_from(PaymentReceipt)) == 4
        assert [str(v) for v in violations(s, settings)] == []
    db.dispose()
    assert after == before == sorted([(by_transfer["total"] + 5000, False), (999000, False), (149000, False),
                                      (7000, True)])
