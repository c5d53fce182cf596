"""Held money (rule 10) over the API: the list with each reason, and what an operator does with it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from langganan.kit.openapi import api_router, errors
from langganan.kit.web import Limit, StartingAfter
from langganan.payments import repository, unapplied
from langganan.payments.models import UnappliedPayment, UnappliedStatus
from langganan.web.context import AdminKey, Ctx

router = api_router(prefix="/v1/unapplied-payments", tags=["unapplied_payments"])
STATUS_NAMES = {"held": UnappliedStatus.OPEN, "applied": UnappliedStatus.APPLIED,
                "credited": UnappliedStatus.CREDITED, "refunding": UnappliedStatus.REFUNDING,
                "refunded": UnappliedStatus.REFUNDED}
Reason = Annotated[str, Field(min_length=1, max_length=500, description="Why (recorded with the action)")]


class UnappliedOut(BaseModel):
    id: str
    account_id: str | None
    invoice_id: str | None
    payment_id: str | None
    amount: int = Field(description="Negative: money the gateway took back, which the account owes")
    currency: str
    reason: str
    status: Literal["held", "applied", "credited", "refunding", "refunded"]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_reason: str | None
    refund_method: str | None
    refund_ref: str | None


class UnappliedList(BaseModel):
    data: list[UnappliedOut]
    has_more: bool


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: str = Field(min_length=1, max_length=40)
    reason: Reason


class CreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Literal["conversation", "broadcast"]
    reason: Reason


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason
    method: Literal["gateway", "manual"] = Field(default="gateway", description="gateway: the gateway's refund "
                                                 "of the payment that brought it; manual: a bank transfer you made")
    reference: str | None = Field(default=None, max_length=200, description="manual: the transfer's reference")


class Outcome(BaseModel):
    unapplied_payment: UnappliedOut
    outcome: str


def _out(u: UnappliedPayment) -> UnappliedOut:
    status = next(name for name, value in STATUS_NAMES.items() if value == u.status)
    return UnappliedOut(id=u.id, account_id=u.account_id, invoice_id=u.invoice_id, payment_id=u.payment_id,
                        amount=u.amount, currency=u.currency, reason=u.reason, status=status,  # type: ignore[arg-type]
                        created_at=u.created_at, resolved_at=u.resolved_at, resolved_by=u.resolved_by,
                        resolution_reason=u.resolution_reason, refund_method=u.refund_method, refund_ref=u.refund_ref)


@router.get("", response_model=UnappliedList, summary="Money received and held (rule 10), newest first")
def list_unapplied(ctx: Ctx, _: AdminKey,
                   status: Annotated[Literal["held", "applied", "credited", "refunding", "refunded"] | None,
                                     Query()] = None,
                   account_id: str | None = None, limit: Limit = 20,
                   starting_after: StartingAfter = None) -> UnappliedList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_unapplied(s, status=STATUS_NAMES[status] if status else None,
                                               account_id=account_id, limit=limit, starting_after=starting_after)
        return UnappliedList(data=[_out(u) for u in rows], has_more=more)


@router.post("/{unapplied_id}/apply", response_model=Outcome, summary="Apply held money to an open invoice",
             responses=errors(404, 409, 422))
def apply_unapplied(unapplied_id: str, body: ApplyIn, ctx: Ctx, key: AdminKey) -> Outcome:
    with ctx.unit() as (s, now):
        outcome = unapplied.apply(s, unapplied_id, body.invoice_id, by=key.actor, reason=body.reason, now=now)
        return Outcome(unapplied_payment=_out(repository.unapplied(s, unapplied_id)), outcome=outcome)


@router.post("/{unapplied_id}/credit-wallet", response_model=Outcome,
             summary="Credit held money to the account's wallet as paid credit", responses=errors(404, 409, 422))
def credit_unapplied(unapplied_id: str, body: CreditIn, ctx: Ctx, key: AdminKey) -> Outcome:
    with ctx.unit() as (s, now):
        balance = unapplied.credit_wallet(s, unapplied_id, body.wallet, by=key.actor, reason=body.reason,
                                          now=now)
        return Outcome(unapplied_payment=_out(repository.unapplied(s, unapplied_id)), outcome=f"credited:{balance}")


@router.post("/{unapplied_id}/refund", response_model=Outcome, summary="Refund held money",
             description="Through the gateway (its refund of the payment that brought the money; the held money's "
             "id is the idempotency key) or recorded as a bank transfer you made (`manual`, with its reference).",
             responses=errors(404, 409, 422, 502))
def refund_unapplied(unapplied_id: str, body: RefundIn, ctx: Ctx, key: AdminKey) -> Outcome:
    held = unapplied.refund(ctx.db, ctx.gateway, unapplied_id, by=key.actor, reason=body.reason,
                            method=body.method, reference=body.reference, clock_now=ctx.clock.now)
    return Outcome(unapplied_payment=_out(held), outcome="refunded")
