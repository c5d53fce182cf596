"""The reservation routes (tagged wallets, as they hold wallet credit): reservations sit above
subscriptions and wallets, as a broadcast hold counts against the plan's broadcast quota."""

from __future__ import annotations

from langganan.accounts import repository as accounts_repo
from langganan.kit.openapi import api_router, errors
from langganan.usage import reservations
from langganan.wallets.schemas import CaptureIn, ReservationIn, ReservationOut, reservation_out
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1", tags=["wallets"])


@router.post("/reservations", response_model=ReservationOut, status_code=201, responses=errors(402, 404),
             summary="Hold credit for a broadcast campaign")
def create_reservation(body: ReservationIn, ctx: Ctx, _: AnyKey) -> ReservationOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, body.account_id)
        res = reservations.hold(s, body.account_id, body.meter, body.quantity, body.expires_in_seconds, now)
        return reservation_out(res)


@router.post("/reservations/{reservation_id}/capture", response_model=ReservationOut,
             summary="Capture what was delivered; the rest is released")
def capture_reservation(reservation_id: str, body: CaptureIn, ctx: Ctx, _: AnyKey) -> ReservationOut:
    with ctx.unit() as (s, now):
        return reservation_out(reservations.capture(s, reservation_id, body.quantity, now))


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut)
def release_reservation(reservation_id: str, ctx: Ctx, _: AnyKey) -> ReservationOut:
    with ctx.unit() as (s, now):
        return reservation_out(reservations.release(s, reservation_id, now))
