"""Usage events priced and debited at receipt (DESIGN rule 7).

One path serves `POST /v1/usage` and `POST /v1/usage/batch`: lock what the events touch (the
subscriptions of broadcast senders first, then wallets, each in id order so concurrent batches
never deadlock), look up earlier ids, then walk the events in request order in memory and write
all accepted events and their ledger entries with two bulk inserts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Meter
from langganan.notifications import alerts
from langganan.subscriptions.models import Subscription
from langganan.usage.models import UsageEvent
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets
from langganan.wallets.models import Wallet, WalletEntry

BROADCAST_METER = "broadcast_message"
# The hot path writes through Core: the rows are plain dicts, no ORM unit of work needed.
USAGE_EVENTS = cast(Table, UsageEvent.__table__)
WALLET_ENTRIES = cast(Table, WalletEntry.__table__)
WALLETS = cast(Table, Wallet.__table__)
# PostgreSQL: every touched wallet in one statement, from three arrays (a fixed text, so it is never recompiled).
_PG_BALANCES = text("UPDATE wallets SET balance = new.b, granted_balance = new.g, updated_at = :now "
                    "FROM unnest(CAST(:ids AS varchar[]), CAST(:b AS bigint[]), CAST(:g AS bigint[])) "
                    "AS new(wid, b, g) WHERE wallets.id = new.wid")


@dataclass(frozen=True)
class UsageIn:
    id: str
    account_id: str
    meter: str
    quantity: int = 1
    occurred_at: datetime | None = None

    def body_hash(self) -> str:
        occurred = self.occurred_at.isoformat() if self.occurred_at else ""
        raw = f"{self.account_id}\x1f{self.meter}\x1f{self.quantity}\x1f{occurred}"
        return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


@dataclass
class UsageResult:
    id: str
    status: str  # accepted | duplicate | rejected
    code: str | None = None
    message: str | None = None
    amount: int | None = None
    balance_after: int | None = None


REJECTIONS = {
    "insufficient_balance": "The wallet balance does not cover this event.",
    "quota_exceeded": "The plan's monthly broadcast quota is used up.",
    "account_not_found": "No account with this id.",
    "meter_not_found": "No meter with this code.",
    "event_id_conflict": "This event id was already used with a different body.",
    "invalid_quantity": "Quantity must be a whole number of at least 1.",
}


def _reject(ev: UsageIn, code: str) -> UsageResult:
    return UsageResult(id=ev.id, status="rejected", code=code, message=REJECTIONS[code])


def broadcast_limit(session: Session, sub: Subscription) -> int:
    plan = catalog_service.get(session, sub.catalog_version_id).plans[sub.plan_code]
    return plan.limits["broadcasts_per_month"]


def ingest(session: Session, events: list[UsageIn], now: datetime) -> list[UsageResult]:
    meters = catalog_service.current(session).meters
    account_ids = sorted({e.account_id for e in events})
    broadcasters = sorted({e.account_id for e in events if e.meter == BROADCAST_METER})
    subs: dict[str, Subscription] = {}
    if broadcasters:
        subs = {s.account_id: s for s in session.scalars(
            select(Subscription).where(Subscription.account_id.in_(broadcasters))
            .order_by(Subscription.id).with_for_update())}
    wallet_rows = session.scalars(select(Wallet).where(Wallet.account_id.in_(account_ids))
                                  .order_by(Wallet.id).with_for_update()).all()
    by_key = {(w.account_id, w.kind): w for w in wallet_rows}
    alerts.watch(session, now, wallet_rows, subs.values())  # usage alerts, decided on commit
    for w in wallet_rows:
        wallets.expire_grant_if_due(session, w, now)
    ids = list({e.id for e in events})
    earlier = {row.id: row for row in session.scalars(select(UsageEvent).where(UsageEvent.id.in_(ids)))}

    results: list[UsageResult] = []
    seen: dict[str, tuple[str, UsageResult]] = {}
    new_events: list[dict[str, object]] = []
    new_entries: list[dict[str, object]] = []
    limits: dict[str, int] = {}
    touched: set[str] = set()
    for ev in events:
        digest = ev.body_hash()
        prior = earlier.get(ev.id)
        if prior is not None:
            if prior.body_hash != digest:
                results.append(_reject(ev, "event_id_conflict"))
            else:
                results.append(UsageResult(ev.id, "duplicate", amount=prior.amount, balance_after=prior.balance_after))
            continue
        if ev.id in seen:
            first_hash, first = seen[ev.id]
            if first_hash != digest:
                results.append(_reject(ev, "event_id_conflict"))
            elif first.status == "accepted":
                results.append(UsageResult(ev.id, "duplicate", amount=first.amount, balance_after=first.balance_after))
            else:
                results.append(first)
            continue
        result = _price_one(session, ev, meters.get(ev.meter), by_key, subs, limits, now, new_events, new_entries,
                            digest)
        if result.status == "accepted":
            touched.add(by_key[(ev.account_id, meters[ev.meter].wallet)].id)
        seen[ev.id] = (digest, result)
        results.append(result)
    if new_events:
        _write_balances(session, [w for w in wallet_rows if w.id in touched], now)
        _insert(session, USAGE_EVENTS, new_events)
        _insert(session, WALLET_ENTRIES, new_entries)
        hour = wallets.spend_hour(now)
        spend: dict[tuple[str, datetime], int] = {}
        for entry in new_entries:
            key = (cast(str, entry["wallet_id"]), hour)
            spend[key] = spend.get(key, 0) - cast(int, entry["amount"])
        wallets_repo.add_spend(session, spend)
    return results


def _insert(session: Session, table: Table, rows: list[dict[str, object]]) -> None:
    """Append rows: COPY on PostgreSQL (one message stream, no per-row statement), executemany elsewhere."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _write_balances(session: Session, touched: list[Wallet], now: datetime) -> None:
    """Store the touched wallets' new balances in one statement instead of one ORM UPDATE per wallet.

    The ORM instances already hold the new values; marking them committed keeps the session's
    flush from writing them a second time.
    """
    rows = [{"wid": w.id, "b": w.balance, "g": w.granted_balance} for w in touched]
    for w in touched:
        for attr in ("balance", "granted_balance", "updated_at"):
            set_committed_value(w, attr, getattr(w, attr))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_BALANCES, {"ids": [r["wid"] for r in rows], "b": [r["b"] for r in rows],
                                       "g": [r["g"] for r in rows], "now": now})
    else:
        session.execute(update(WALLETS).where(WALLETS.c.id == bindparam("wid"))
                        .values(balance=bindparam("b"), granted_balance=bindparam("g"), updated_at=now), rows)


def _price_one(session: Session, ev: UsageIn, meter: Meter | None, by_key: dict[tuple[str, str], Wallet],
               subs: dict[str, Subscription], limits: dict[str, int], now: datetime,
               new_events: list[dict[str, object]], new_entries: list[dict[str, object]], digest: str) -> UsageResult:
    if meter is None:
        return _reject(ev, "meter_not_found")
    if ev.quantity < 1:
        return _reject(ev, "invalid_quantity")
    wallet = by_key.get((ev.account_id, meter.wallet))
    if wallet is None:
        return _reject(ev, "account_not_found")
    if meter.code == BROADCAST_METER:
        sub = subs[ev.account_id]
        if ev.account_id not in limits:
            limits[ev.account_id] = broadcast_limit(session, sub)
        if sub.broadcasts_used + ev.quantity > limits[ev.account_id]:
            return _reject(ev, "quota_exceeded")
    amount = meter.unit_price * ev.quantity
    if amount > wallet.balance:
        return _reject(ev, "insufficient_balance")
    granted = wallets.split_debit(wallet, amount)
    balance_after = wallets.move(wallet, -amount, -granted, now)
    if meter.code == BROADCAST_METER:
        subs[ev.account_id].broadcasts_used += ev.quantity
    new_events.append({"id": ev.id, "account_id": ev.account_id, "meter": meter.code, "quantity": ev.quantity,
                       "amount": amount, "balance_after": balance_after, "body_hash": digest,
                       "occurred_at": ev.occurred_at, "created_at": now})
    new_entries.append({"wallet_id": wallet.id, "type": "usage", "amount": -amount, "granted_amount": -granted,
                        "balance_after": balance_after, "meter": meter.code, "quantity": ev.quantity,
                        "reference": ev.id, "created_at": now})
    return UsageResult(ev.id, "accepted", amount=amount, balance_after=balance_after)
