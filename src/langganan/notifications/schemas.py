from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from langganan.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Notification


class NotificationOut(BaseModel):
    id: str
    type: str = Field(description="The event type, e.g. invoice.created")
    title: str = Field(description="In the account's locale")
    body: str = Field(description="In the account's locale")
    event_id: str
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    data: list[NotificationOut]
    has_more: bool


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    duration_ms: int
    succeeded: bool
    status_code: int | None = Field(description="The receiver's HTTP status (webhooks)")
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    account_id: str | None
    status: DeliveryStatus = Field(description="pending | succeeded | failed | canceled")
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    has_more: bool


def notification_out(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, type=n.type, title=n.title, body=n.body, event_id=n.event_id,
                           created_at=n.created_at, read_at=n.read_at)


def delivery_out(d: Delivery, attempts: list[DeliveryAttempt]) -> DeliveryOut:
    return DeliveryOut(id=d.id, event_id=d.event_id, event_type=d.event_type, account_id=d.account_id,
                       status=d.status, next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at,
                       last_error=d.last_error, created_at=d.created_at,
                       attempts=[AttemptOut(number=a.number, started_at=a.started_at, duration_ms=a.duration_ms,
                                            succeeded=a.succeeded, status_code=a.status_code, error=a.error)
                                 for a in attempts])
