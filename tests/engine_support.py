"""The whole engine as the simulation and the catch-up tests drive it.

`engine(database)` wipes the database and starts a fresh app on it (the clock frozen at CLOCK_START,
the sandbox gateway); `books(db)` reads what the books say as plain values, ids and bookkeeping
timestamps aside, so two runs of one scenario can be compared; `advance_in_steps` moves the clock
in small steps, running the due work after each, where `Env.advance` moves it in one jump.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from langganan.accounts.models import Account
from langganan.addons.models import SubscriptionAddOn
from langganan.app import create_app, prepare
from langganan.catalog import service as catalog_service
from langganan.events.models import Event
from langganan.invoices.models import Invoice
from langganan.kit.db import Database
from langganan.models import metadata
from langganan.payments.models import Payment, UnappliedPayment
from langganan.subscriptions.models import Subscription
from langganan.wallets.models import Wallet, WalletEntry
from tests.conftest import ADMIN_KEY, Env, _truncate_pg, make_settings


def wipe(db: Database) -> None:
    """Every row of every table gone (the schema stays)."""
    if db.dialect == "postgresql":
        _truncate_pg(db)
        return
    with db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@contextmanager
def engine(database: Database, **overrides: Any) -> Iterator[Env]:
    """A fresh engine on `database`: wiped, prepared, served by an app with its worker off (due work
    runs when the clock is advanced)."""
    wipe(database)
    catalog_service.forget_cache()
    settings = make_settings(database, **overrides)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def advance_in_steps(env: Env, total: timedelta, step: timedelta) -> None:
    """Move the clock by `total` in steps of at most `step`, the due work running after each."""
    target = env.now() + total
    while (now := env.now()) < target:
        env.advance(to=min(now + step, target).isoformat())


def _t(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def books(db: Database) -> dict[str, Any]:
    """Each account's books by its external id: subscription, invoices, payments, held money, wallets,
    ledger, add-ons and the events it emitted. Engine instants (periods, issue and payment times) are
    part of the books; ids, numbers and wall-clock bookkeeping are not."""
    out: dict[str, Any] = {}
    with db.transaction() as s:
        accounts = {a.id: a.external_id or a.name for a in s.scalars(select(Account))}
        for acc_id, key in accounts.items():
            sub = s.scalars(select(Subscription).where(Subscription.account_id == acc_id)).one()
            invoices = s.scalars(select(Invoice).where(Invoice.account_id == acc_id)).all()
            wallets = {w.id: w for w in s.scalars(select(Wallet).where(Wallet.account_id == acc_id))}
            entries = s.scalars(select(WalletEntry).where(WalletEntry.wallet_id.in_(list(wallets)))).all()
            out[key] = {
                "subscription": (sub.plan_code, sub.interval, sub.status, _t(sub.current_period_start),
                                 _t(sub.current_period_end), _t(sub.trial_end), sub.cancel_at_period_end,
                                 sub.pending_plan, sub.pending_interval, sub.auto_renew, _t(sub.promotion_ends_at)),
                "invoices": sorted(
                    (inv.type, inv.status, _t(inv.period_start), _t(inv.period_end), inv.subtotal, inv.discount,
                     inv.tax, inv.total, _t(inv.issued_at), _t(inv.expires_at), _t(inv.paid_at),
                     tuple((ln.description, ln.amount) for ln in inv.lines)) for inv in invoices),
                "payments": sorted((p.method, p.status, p.amount) for p in s.scalars(
                    select(Payment).where(Payment.account_id == acc_id))),
                "held": sorted((u.reason, u.amount, u.status) for u in s.scalars(
                    select(UnappliedPayment).where(UnappliedPayment.account_id == acc_id))),
                "wallets": sorted((w.kind, w.balance, w.granted_balance, w.reserved) for w in wallets.values()),
                "ledger": sorted((wallets[e.wallet_id].kind, e.type, e.amount, e.granted_amount, _t(e.created_at))
                                 for e in entries),
                "add_ons": sorted((a.add_on_code, a.quantity, a.status, _t(a.ends_at)) for a in s.scalars(
                    select(SubscriptionAddOn).where(SubscriptionAddOn.account_id == acc_id))),
                "events": Counter(s.scalars(select(Event.type).where(Event.account_id == acc_id))),
            }
    return out
