from __future__ import annotations

from langganan.accounts import repository as accounts_repo
from langganan.kit.openapi import api_router
from langganan.kit.web import Limit, StartingAfter
from langganan.notifications import repository, service
from langganan.notifications.schemas import NotificationList, NotificationOut, notification_out
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts/{account_id}/notifications", tags=["notifications"])


@router.get("", response_model=NotificationList, summary="The account's in-app feed, newest first")
def list_notifications(account_id: str, ctx: Ctx, _: AnyKey, unread: bool = False, limit: Limit = 20,
                       starting_after: StartingAfter = None) -> NotificationList:
    with ctx.unit() as (s, _now):
        accounts_repo.get(s, account_id)
        rows, more = repository.feed(s, account_id, unread=unread, limit=limit, starting_after=starting_after)
        return NotificationList(data=[notification_out(n) for n in rows], has_more=more)


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark a feed item read")
def read_notification(account_id: str, notification_id: str, ctx: Ctx, _: AnyKey) -> NotificationOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, account_id)
        return notification_out(service.mark_read(s, account_id, notification_id, now))
