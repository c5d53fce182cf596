"""Usage events priced and debited at receipt (DESIGN rule 7).

One path serves `POST /v1/usage` and `POST /v1/usage/batch`: lock what the events touch (the
subscriptions of broadcast senders first, then wallets, each in id order so concurrent batches
never deadlock), look up earlier ids, then walk the events in request order, applying each accepted
one to a ledger posting in memory, and write the posting at once (`wallets.ledger`). An accepted
event is stored as its usage debit: one ledger entry keyed by the event id.
Wallets are read as plain rows (`LockedWallet`), not ORM objects: a group of single events is a
handful of rows, and the ORM's per-object work cost more than the whole pricing walk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from langganan.catalog import service as catalog_service
from langganan.catalog.rules import BROADCAST_METER, Meter
from langganan.kit.work import Work
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.service import broadcast_limit
from langganan.usage import repository as usage_repo
from langganan.wallets import ledger, watch
from langganan.wallets import rules as wallet_rules
from langganan.wallets import service as wallets
from langganan.wallets.ledger import Movement
from langganan.wallets.models import EntryType
from langganan.wallets.repository import LockedWallet


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


def ingest(session: Work, events: list[UsageIn], now: datetime) -> list[UsageResult]:
    meters = catalog_service.current(session).meters
    broadcasters = sorted({e.account_id for e in events if e.meter == BROADCAST_METER})
    subs: dict[str, Subscription] = {}
    if broadcasters:
        subs = {s.account_id: s for s in session.scalars(
            select(Subscription).where(Subscription.account_id.in_(broadcasters))
            .order_by(Subscription.id).with_for_update())}
    # the wallets the events' meters debit, as plain rows, and what a duplicate answer needs of earlier events
    wallet_keys = sorted({(e.account_id, meters[e.meter].wallet) for e in events if e.meter in meters})
    wallet_rows, earlier = usage_repo.lock_and_find(session, wallet_keys, list({e.id for e in events}))
    by_key = {(w.account_id, w.kind): w for w in wallet_rows}
    watch.balances_moving(session, wallet_rows, now)  # usage alerts, decided on commit
    watch.broadcasts_moving(session, subs.values(), now)
    for w in wallet_rows:  # the rare case: granted credit expired; written off before any usage is priced
        wallets.expire_grant_if_due(session, w, now)

    results: list[UsageResult] = []
    seen: dict[str, tuple[str, UsageResult]] = {}
    posting = ledger.Posting(now)
    limits: dict[str, int] = {}
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
        result = _price_one(session, ev, meters.get(ev.meter), by_key, subs, limits, posting, digest)
        seen[ev.id] = (digest, result)
        results.append(result)
    ledger.write(session, posting)
    return results


def _price_one(session: Work, ev: UsageIn, meter: Meter | None, by_key: dict[tuple[str, str], LockedWallet],
               subs: dict[str, Subscription], limits: dict[str, int], posting: ledger.Posting,
               digest: str) -> UsageResult:
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
    if not ledger.covers(wallet, amount):
        return _reject(ev, "insufficient_balance")
    granted = wallet_rules.granted_part(wallet.granted_balance, amount)
    balance_after = posting.apply(Movement(wallet, EntryType.USAGE, -amount, -granted, meter.code, ev.quantity, ev.id,
                                           body_hash=digest, occurred_at=ev.occurred_at))
    if meter.code == BROADCAST_METER:
        subs[ev.account_id].broadcasts_used += ev.quantity
    return UsageResult(ev.id, "accepted", amount=amount, balance_after=balance_after)
