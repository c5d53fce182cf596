"""Sandbox-only endpoints (LANGGANAN_MODE=sandbox; 404 otherwise): test cards, simulated bank
transfers and the engine clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.due import run_due
from langganan.kit.clock import DatabaseClock, wall_now
from langganan.kit.errors import NotFound, Unprocessable
from langganan.kit.web import AnyKey, AppContext, Ctx
from langganan.notifications.worker import run_notifications
from langganan.payments.endpoints import deliver_notification
from langganan.payments.sandbox import SandboxGateway


async def sandbox_only(request: Request) -> None:
    if not request.app.state.ctx.settings.sandbox:
        raise NotFound("endpoint", request.url.path)


router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"], dependencies=[Depends(sandbox_only)])


MAX_ADVANCE = timedelta(days=3660)


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=12, max_length=23)
    exp_month: StrictInt
    exp_year: StrictInt
    cvc: str = Field(min_length=3, max_length=4)


class CardToken(BaseModel):
    provider_token: str


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    va_number: str = Field(min_length=4, max_length=40)
    amount: StrictInt = Field(gt=0, le=10**15, description="What the simulated bank pays, in the minor unit")
    currency: str = "IDR"


class TransferOut(BaseModel):
    va_number: str
    amount: int
    outcome: str = Field(description="What the signed callback did: applied, held_late, duplicate, ...")


class ClockOut(BaseModel):
    now: datetime
    invoices_expired: int = 0
    periods_rolled: int = 0


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: StrictInt | None = Field(default=None, ge=0, le=3660)
    hours: StrictInt | None = Field(default=None, ge=0, le=87840)
    to: datetime | None = None


def _gateway(ctx: AppContext) -> SandboxGateway:
    if not isinstance(ctx.gateway, SandboxGateway):
        raise NotFound("endpoint", "sandbox gateway")
    return ctx.gateway


@router.post("/cards", response_model=CardToken, status_code=201, summary="Tokenize a sandbox test card")
def create_card(body: CardIn, ctx: Ctx, _: AnyKey) -> CardToken:
    with ctx.unit() as (_s, now):
        token = _gateway(ctx).tokenize(body.number, body.exp_month, body.exp_year, body.cvc, now=now)
    return CardToken(provider_token=token)


@router.post("/bank-transfers", response_model=TransferOut,
             summary="The simulated bank pays a virtual account; the gateway's signed callback follows")
def bank_transfer(body: TransferIn, ctx: Ctx, _: AnyKey) -> TransferOut:
    headers, payload = _gateway(ctx).signed_transfer(body.va_number, body.amount, body.currency.upper(),
                                                     wall_now=wall_now())
    outcome = deliver_notification(ctx, headers, payload)
    return TransferOut(va_number=body.va_number, amount=body.amount, outcome=outcome)


@router.get("/clock", response_model=ClockOut)
def get_clock(ctx: Ctx, _: AnyKey) -> ClockOut:
    with ctx.unit() as (_s, now):
        return ClockOut(now=now)


@router.post("/clock/advance", response_model=ClockOut,
             summary="Move the engine clock forward and run all work that falls due, before answering")
def advance_clock(body: AdvanceIn, ctx: Ctx, _: AnyKey) -> ClockOut:
    if not isinstance(ctx.clock, DatabaseClock):
        raise NotFound("endpoint", "sandbox clock")
    if body.to is not None and body.to.tzinfo is None:
        raise Unprocessable("invalid_parameter", "`to` needs a UTC offset (RFC 3339).", param="to")
    if body.to is None and not body.days and not body.hours:
        raise Unprocessable("missing_parameter", "Give days, hours or to.", param="days")
    with ctx.unit() as (s, now):
        target = body.to or now + timedelta(days=body.days or 0, hours=body.hours or 0)
        if target > now + MAX_ADVANCE:
            raise Unprocessable("invalid_parameter", "The clock moves at most 10 years in one step.", param="to")
        ctx.clock.advance_to(s, target)
    report = run_due(ctx)
    run_notifications(ctx.db, ctx.courier)  # send what the due work announced
    with ctx.unit() as (_s, now):
        return ClockOut(now=now, invoices_expired=report.invoices_expired, periods_rolled=report.periods_rolled)
