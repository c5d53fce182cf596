from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError

from langganan.kit.errors import Conflict, DomainError, NotFoundCode, PaymentRequired, Unprocessable
from langganan.kit.web import AnyKey, AppContext, Ctx
from langganan.usage.schemas import UsageBatchIn, UsageBatchOut, UsageEventIn, UsageOut
from langganan.usage.service import UsageIn, UsageResult, ingest

router = APIRouter(prefix="/v1/usage", tags=["usage"])

# How a rejected single event is answered: the error class (its HTTP status) and the parameter at fault.
REJECTION_ERRORS: dict[str, tuple[type[DomainError], str]] = {
    "insufficient_balance": (PaymentRequired, "account_id"),
    "quota_exceeded": (Conflict, "meter"),
    "event_id_conflict": (Conflict, "id"),
    "account_not_found": (NotFoundCode, "account_id"),
    "meter_not_found": (NotFoundCode, "meter"),
    "invalid_quantity": (Unprocessable, "quantity"),
}


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
        code = result.code or "rejected"
        error, param = REJECTION_ERRORS[code]
        raise error(code, result.message or "The event was rejected.", param=param)
    return UsageOut(**result.__dict__)


@router.post("/batch", response_model=UsageBatchOut,
             summary="Up to 1.000 events; each is accepted, a duplicate or rejected, in request order")
def report_batch(body: UsageBatchIn, ctx: Ctx, _: AnyKey) -> UsageBatchOut:
    return UsageBatchOut(results=[UsageOut(**r.__dict__) for r in _run(ctx, body.events)])
