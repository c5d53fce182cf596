"""Sandbox-only endpoints: test cards, simulated bank transfers and the engine clock. Mounted only when
LANGGANAN_MODE=sandbox (app.create_app): in live mode they do not exist (404, absent from /openapi.json)."""

from __future__ import annotations

from langganan.kit.clock import wall_now
from langganan.kit.errors import NotFound
from langganan.kit.openapi import api_router
from langganan.payments.endpoints import deliver_notification
from langganan.payments.sandbox import SandboxGateway
from langganan.sandbox.clock import advance
from langganan.sandbox.schemas import (
    AdvanceIn,
    CardIn,
    CardToken,
    ClockOut,
    QrisPaymentIn,
    QrisPaymentOut,
    TransferIn,
    TransferOut,
)
from langganan.web.context import AnyKey, AppContext, Ctx

router = api_router(prefix="/v1/sandbox", tags=["sandbox"])

def _gateway(ctx: AppContext) -> SandboxGateway:
    if not isinstance(ctx.gateway, SandboxGateway):
        raise NotFound("endpoint", "sandbox gateway")
    return ctx.gateway


@router.post("/cards", response_model=CardToken, status_code=201, summary="Tokenize a sandbox test card")
def create_sandbox_card(body: CardIn, ctx: Ctx, _: AnyKey) -> CardToken:
    with ctx.unit() as (_s, now):
        token = _gateway(ctx).tokenize(body.number, body.exp_month, body.exp_year, body.cvc, now=now)
    return CardToken(provider_token=token)


@router.post("/bank-transfers", response_model=TransferOut,
             summary="The simulated bank pays a virtual account; the gateway's signed callback follows")
def sandbox_bank_transfer(body: TransferIn, ctx: Ctx, _: AnyKey) -> TransferOut:
    headers, payload = _gateway(ctx).signed_transfer(body.va_number, body.amount, body.currency.upper(),
                                                     wall_now=wall_now())
    outcome = deliver_notification(ctx, headers, payload)
    return TransferOut(va_number=body.va_number, amount=body.amount, outcome=outcome)


@router.post("/qris-payments", response_model=QrisPaymentOut,
             summary="A customer's banking app pays a QRIS code; the gateway's signed callback follows")
def sandbox_qris_payment(body: QrisPaymentIn, ctx: Ctx, _: AnyKey) -> QrisPaymentOut:
    headers, payload = _gateway(ctx).signed_qris_payment(body.payment_id, body.amount, body.currency.upper(),
                                                         wall_now=wall_now())
    outcome = deliver_notification(ctx, headers, payload)
    return QrisPaymentOut(payment_id=body.payment_id, amount=body.amount, outcome=outcome)


@router.get("/clock", response_model=ClockOut)
def get_sandbox_clock(ctx: Ctx, _: AnyKey) -> ClockOut:
    with ctx.unit() as (_s, now):
        return ClockOut(now=now)


@router.post("/clock/advance", response_model=ClockOut,
             summary="Move the engine clock forward and run all work that falls due, before answering")
def advance_sandbox_clock(body: AdvanceIn, ctx: Ctx, key: AnyKey) -> ClockOut:
    done = advance(ctx, days=body.days or 0, hours=body.hours or 0, to=body.to, by=key.actor)
    return ClockOut(now=done.now, invoices_expired=done.invoices_expired, periods_rolled=done.periods_rolled)
