from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.exc import IntegrityError

from langganan import logs, metrics
from langganan.apikeys.gate import live_hashes
from langganan.kit.errors import Conflict, DomainError, NotFoundCode, PaymentRequired, Unprocessable
from langganan.kit.openapi import api_router, errors
from langganan.usage.grouping import GroupedIngest
from langganan.usage.schemas import UsageBatchIn, UsageBatchOut, UsageEventIn, UsageOut
from langganan.usage.service import UsageIn, UsageResult, ingest
from langganan.web.context import AnyKey, AppContext, Ctx

router = api_router(prefix="/v1/usage", tags=["usage"])

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


@dataclass(frozen=True)
class Keyed:
    """A usage event and the hash of the API key it came with, when that key is still to be checked (None: the
    gate checked it for this request)."""

    key_hash: str | None
    event: UsageIn


Group = GroupedIngest[Keyed, UsageResult | None]


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


def run_keyed(ctx: AppContext, items: list[Keyed]) -> list[UsageResult | None]:
    """`run_ingest` for events whose keys are checked here, all of them in one statement just before (outside
    the write: on SQLite it holds no lock, and the ingest transaction stays as short as it was): an event whose
    key is not live (unknown, revoked, past its rotation's overlap) is not ingested and gets None (its request
    is answered 401); the others go on as if it had not come."""
    hashes = {item.key_hash for item in items if item.key_hash is not None}
    live = live_hashes(ctx.db, hashes) if hashes else set()
    admitted = [i for i, item in enumerate(items) if item.key_hash is None or item.key_hash in live]
    results: list[UsageResult | None] = [None] * len(items)
    if admitted:
        for i, result in zip(admitted, run_ingest(ctx, [items[i].event for i in admitted]), strict=True):
            results[i] = result
    return results


def grouped_ingest(ctx: AppContext) -> Group:
    """The app's group-commit writer for single events (see usage/grouping.py): one group in flight per
    process. A second one in parallel (tried on PostgreSQL) mostly waited for the first one's wallet
    locks, and halved the groups: 1.100 against 2.000 single events/s with 2 workers."""
    return GroupedIngest(lambda items: run_keyed(ctx, items), parallel=1)


@router.post("", response_model=UsageOut, status_code=201,
             responses={200: {"model": UsageOut, "description": "An id seen before with the same body (status "
                                                                 "duplicate): the first result, nothing debited"},
                        **errors(402, 404)},
             summary="Report one message: priced and debited now (201), or the first result again (200)")
async def report_usage(body: UsageEventIn, request: Request, _: AnyKey, response: Response) -> UsageOut:
    logs.note_account(body.account_id)
    group: Group = request.app.state.usage_group
    result = await group.submit(Keyed(None, to_usage_in(body)))
    assert result is not None  # (its key was checked by the gate)
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
