from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from langganan.kit.errors import NotFound
from langganan.kit.pagination import page
from langganan.kit.work import Work
from langganan.webhooks.models import EndpointStatus, WebhookEndpoint


def get(session: Work, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update or None)
    if row is None:
        raise NotFound("webhook_endpoint", endpoint_id, param="endpoint_id")
    return row


def enabled(session: Work) -> Sequence[WebhookEndpoint]:
    return session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.status == EndpointStatus.ENABLED)
                           .order_by(WebhookEndpoint.id)).all()


def list_endpoints(session: Work, limit: int, starting_after: str | None) -> tuple[Sequence[WebhookEndpoint], bool]:
    return page(session, select(WebhookEndpoint), WebhookEndpoint.id, limit, starting_after)
