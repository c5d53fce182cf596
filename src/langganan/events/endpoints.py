from __future__ import annotations

from langganan.events import repository
from langganan.events.schemas import EventList, event_out
from langganan.kit.openapi import api_router
from langganan.kit.web import Limit, StartingAfter
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1", tags=["events"])


@router.get("/events", response_model=EventList, summary="The event log, newest first")
def list_events(ctx: Ctx, _: AnyKey, account_id: str | None = None, type: str | None = None,
                limit: Limit = 20, starting_after: StartingAfter = None) -> EventList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_events(s, account_id=account_id, type_=type, limit=limit,
                                            starting_after=starting_after)
        return EventList(data=[event_out(e) for e in rows], has_more=more)
