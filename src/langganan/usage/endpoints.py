from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError

from langganan.kit.errors import Conflict, NotFound, PaymentRequired, Unprocessable
from langganan.kit.web import AnyKey, AppContext, Ctx
from langganan.usage.schemas import UsageBatchIn, UsageBatchOut, UsageEventIn, UsageOut
from langganan.usage.service import UsageIn, UsageResult, ingest

router = APIRouter(prefix="/v1/usage", tags=["usage"])


def _run(ctx: AppContext, events: list[UsageEventIn]) -> list[UsageResult]:
    items = [UsageIn(e.id, e.account_id, e.meter, e.quantity, e.occurred_at) for e in events]
    for attempt in range(3):
        try:
            with ctx.unit() as (s, now):
                return ingest(s, items, now)
        except IntegrityError:
            # The same new id raced in from another account's request; the retry sees it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@router.post("", response_model=UsageOut, status_code=201,
             summary="Report one message: priced and debited now (201), or the first result again (200)")
def report_usage(body: UsageEventIn, ctx: Ctx, _: AnyKey, response: Response) -> UsageOut:
    result = _run(ctx, [body])[0]
    if result.status == "duplicate":
        response.status_code = 200
    elif result.status == "rejected":
        code, message = result.code or "rejected", result.message or "The event was rejected."
        if code == "insufficient_balance":
            raise PaymentRequired(code, message, param="account_id")
        if code in ("account_not_found", "meter_not_found"):
            raise NotFound(code.removesuffix("_not_found"), body.account_id if code.startswith("account")
                           else body.meter, param=code.removesuffix("_not_found") if code.startswith("meter")
                           else "account_id")
        if code == "invalid_quantity":
            raise Unprocessable(code, message, param="quantity")
        raise Conflict(code, message, param="id" if code == "event_id_conflict" else "meter")
    return UsageOut(**result.__dict__)


@router.post("/batch", response_model=UsageBatchOut,
             summary="Up to 1.000 events; each is accepted, a duplicate or rejected, in request order")
def report_batch(body: UsageBatchIn, ctx: Ctx, _: AnyKey) -> UsageBatchOut:
    return UsageBatchOut(results=[UsageOut(**r.__dict__) for r in _run(ctx, body.events)])
