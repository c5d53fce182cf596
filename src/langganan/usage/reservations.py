"""Reservations for broadcast campaigns: hold price × quantity (granted credit first, rule 6),
capture what was delivered, release the rest. An expired hold releases itself (due work).

The hold entry takes the whole amount out of the balance; capture writes an informational entry
(amount 0: the money already left with the hold); release returns what was not delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from langganan.catalog import service as catalog_service
from langganan.catalog.rules import BROADCAST_METER
from langganan.events import service as events
from langganan.kit.errors import Conflict, NotFound, PaymentRequired, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.subscriptions.models import Subscription
from langganan.subscriptions.service import broadcast_limit
from langganan.wallets import repository, rules, watch
from langganan.wallets import service as wallets
from langganan.wallets.models import EntryType, Reservation, ReservationStatus, Wallet

DEFAULT_HOLD = timedelta(hours=24)
MAX_HOLD = timedelta(days=7)


def hold(session: Work, account_id: str, meter_code: str, quantity: int, expires_in: int | None,
         now: datetime) -> Reservation:
    meter = catalog_service.current(session).meters.get(meter_code)
    if meter is None:
        raise NotFound("meter", meter_code, param="meter")
    if quantity < 1:
        raise Unprocessable("invalid_quantity", "Quantity must be at least 1.", param="quantity")
    if expires_in is not None and not 1 <= expires_in <= MAX_HOLD.total_seconds():
        raise Unprocessable("invalid_parameter", "expires_in_seconds must be between 1 and 604800.",
                            param="expires_in_seconds")
    ttl = DEFAULT_HOLD if expires_in is None else timedelta(seconds=expires_in)
    sub = None
    if meter.code == BROADCAST_METER:
        sub = session.scalar(select(Subscription).where(Subscription.account_id == account_id).with_for_update())
        if sub is None:
            raise NotFound("account", account_id, param="account_id")
        if sub.broadcasts_used + quantity > broadcast_limit(session, sub):
            raise Conflict("quota_exceeded", "The plan's monthly broadcast quota does not cover this campaign.",
                           param="quantity")
    wallet = repository.get(session, account_id, meter.wallet, for_update=True)
    wallets.expire_grant_if_due(session, wallet, now)
    amount = meter.unit_price * quantity
    if amount > wallet.balance:
        raise PaymentRequired("insufficient_balance", "The wallet balance does not cover this reservation.",
                              param="quantity")
    granted = rules.granted_part(wallet.granted_balance, amount)
    res = Reservation(id=new_id("res"), account_id=account_id, wallet_id=wallet.id, meter=meter.code,
                      unit_price=meter.unit_price, quantity=quantity, amount=amount, held_granted=granted,
                      grant_expires_at=wallet.granted_expires_at, captured_quantity=0, status=ReservationStatus.HELD,
                      expires_at=now + ttl, created_at=now)
    session.add(res)
    wallets.record(session, wallet, EntryType.HOLD, -amount, now, granted=-granted, meter=meter.code, quantity=quantity,
                   reference=res.id)
    wallet.reserved += amount
    if sub is not None:
        watch.broadcasts_moving(session, (sub,), now)  # a held broadcast uses quota: alerts as for usage
        sub.broadcasts_used += quantity
    session.flush()
    events.emit(session, "reservation.held", account_id, {"reservation_id": res.id, "amount": amount}, now)
    return res


def _close(session: Work, res: Reservation, captured: int, status: ReservationStatus, at: datetime) -> None:
    sub = None
    if res.meter == BROADCAST_METER and captured < res.quantity:
        # the subscription before the wallet, in the order ingest and hold lock them (no deadlock), and
        # locked, so a concurrent ingest's quota count is not overwritten
        sub = session.scalar(select(Subscription).where(Subscription.account_id == res.account_id)
                             .with_for_update())
    wallet = session.get(Wallet, res.wallet_id, with_for_update=True)
    assert wallet is not None
    captured_amount = res.unit_price * captured
    back = res.amount - captured_amount
    back_granted = rules.released_granted(res.held_granted, captured_amount)
    if captured:
        wallets.record(session, wallet, EntryType.CAPTURE, 0, at, meter=res.meter, quantity=captured, reference=res.id)
    if back:
        grant_still_open = (res.grant_expires_at is not None and wallet.granted_expires_at == res.grant_expires_at
                            and res.grant_expires_at > at)
        wallets.record(session, wallet, EntryType.RELEASE, back, at, granted=back_granted, meter=res.meter,
                       quantity=res.quantity - captured, reference=res.id)
        if back_granted and not grant_still_open:
            # The window the granted part belonged to has ended: it comes back and expires at once.
            wallets.record(session, wallet, EntryType.EXPIRY, -back_granted, at, granted=-back_granted,
                           reference=res.id)
    wallet.reserved -= res.amount
    if sub is not None and sub.allotment_start is not None and res.created_at >= sub.allotment_start:
        sub.broadcasts_used = max(0, sub.broadcasts_used - (res.quantity - captured))
    res.captured_quantity, res.status, res.closed_at = captured, status, at
    events.emit(session, f"reservation.{status}", res.account_id,
                {"reservation_id": res.id, "captured_quantity": captured, "released_amount": back}, at)


def _open(session: Work, reservation_id: str, now: datetime) -> Reservation:
    res = repository.reservation(session, reservation_id, for_update=True)
    if res.status != ReservationStatus.HELD:
        raise Conflict("reservation_closed", f"The reservation is already {res.status}.")
    if res.expires_at <= now:
        raise Conflict("reservation_expired", "The reservation expired; its credit is released.")
    return res


def capture(session: Work, reservation_id: str, quantity: int, now: datetime) -> Reservation:
    res = _open(session, reservation_id, now)
    if not 0 <= quantity <= res.quantity:
        raise Unprocessable("invalid_quantity", f"Capture between 0 and {res.quantity} messages.", param="quantity")
    _close(session, res, quantity, ReservationStatus.CAPTURED, now)
    return res


def release(session: Work, reservation_id: str, now: datetime) -> Reservation:
    res = _open(session, reservation_id, now)
    _close(session, res, 0, ReservationStatus.RELEASED, now)
    return res


def expire(session: Work, res: Reservation) -> None:
    _close(session, res, 0, ReservationStatus.EXPIRED, res.expires_at)
