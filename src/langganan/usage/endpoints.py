from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import IntegrityError

from langganan import logs, metrics
from langganan.kit.errors import Conflict, DomainError, NotFoundCode, PaymentRequired, Unprocessable
from langganan.kit.openapi import errors
from langganan.usage.grouping import GroupedIngest
from langganan.usage.schemas import UsageBatchIn, UsageBatchOut, UsageEventIn, UsageOut
from langganan.usage.service import UsageIn, UsageResult, ingest
from langganan.web.context import AnyKey, AppContext, Ctx

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


def rejection_error(result: UsageResult) -> DomainError:
    assert result.code is not None and result.message is not None, "a rejection carries its code"
    error, param = REJECTION_ERRORS[result.code]
    return error(result.code, result.message, param=param)


def to_usage_in(e: UsageEventIn) -> UsageIn:
    return UsageIn(e.id, e.account_id, e.meter, e.quantity, e.occurred_at)


def run_ingest(ctx: AppContext, items: list[UsageIn]) -> list[UsageResult]:
    """One transaction for `items`, retried whole when a new id raced in from another transaction."""
    for attempt in range(3):
        try:
            with ctx.unit() as (s, now):
                results = ingest(s, items, now)
            metrics.usage_results(results)  # (committed)
            return results
        except IntegrityError:
            # The same new id raced in from another transaction (usage.repository.lock_and_find); the retry
            # sees it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def grouped_ingest(ctx: AppContext) -> GroupedIngest:
    """The app's group-commit writer for single events (see usage/grouping.py): one group in flight per
    process. A second one in parallel (tried on PostgreSQL) mostly waited for the first one's wallet
    locks, and halved the groups: 1.100 against 2.000 single events/s with 2 workers."""
    return GroupedIngest(lambda items: run_ingest(ctx, items), parallel=1)


@router.post("", response_model=UsageOut, status_code=201,
             responses={200: {"model": UsageOut, "description": "An id seen before with the same body (status "
                                                                 "duplicate): the first result, nothing debited"},
                        **errors(402, 404)},
             summary="Report one message: priced and debited now (201), or the first result again (200)")
async def report_usage(body: UsageEventIn, request: Request, _: AnyKey, response: Response) -> UsageOut:
    logs.note_account(body.account_id)
    group: GroupedIngest = request.app.state.usage_group
    result = await group.submit(to_usage_in(body))
    if result.status == "duplicate":
        response.status_code = 200
    elif result.status == "rejected":
        raise rejection_error(result)
    return UsageOut(**result.__dict__)


@router.post("/batch", response_model=UsageBatchOut,
             summary="Up to 1.000 events; each is accepted, a duplicate or rejected, in request order")
def report_usage_batch(body: UsageBatchIn, ctx: Ctx, _: AnyKey) -> UsageBatchOut:
    results = run_ingest(ctx, [to_usage_in(e) for e in body.events])
    return UsageBatchOut(results=[UsageOut(**r.__dict__) for r in results])
