from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from langganan.kit.db import Base
from langganan.kit.enums import text_column


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class Delivery(Base):
    """One message to send for one event: an email to the account, or a webhook to one endpoint.

    Written by the dispatcher in the transaction that marks its event dispatched; the unique
    (event_id, target) makes a second fan-out of the same event impossible. `body` is fixed at
    fan-out (rendered email text, or the webhook's JSON payload) so every retry sends the same bytes;
    an email also keeps its HTML part (`html`) and Cc. What is made when the email is sent is not kept
    here: the PDF of `invoice_id` (attached when `attach_invoice`; an issued invoice never changes, so it
    is rendered from the invoice, as the API serves it) and the one-time sign-in link of a pay link
    (`messages.LINK`, replaced in both parts; only its hash is stored, in portal_links).
    `next_attempt_at` is wall time (rule 14); a claimed delivery has it pushed out by a lease, so a
    worker that dies mid-send leaves it to be retried after the lease.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "target"),
                      Index("ix_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_deliveries_endpoint", "endpoint_id", "id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    event_type: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[Channel] = mapped_column(text_column(Channel, 20))
    target: Mapped[str] = mapped_column(String(40))  # "email" or the endpoint id
    endpoint_id: Mapped[str | None] = mapped_column(ForeignKey("webhook_endpoints.id"))
    recipient: Mapped[str | None] = mapped_column(String(320))
    cc: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[str | None] = mapped_column(String(40))  # the invoice an email is about (its pay link)
    attach_invoice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[DeliveryStatus] = mapped_column(text_column(DeliveryStatus, 20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    """Each send of a delivery, successful or not: status code or error, and how long it took.

    On PostgreSQL partitioned by UTC month of `started_at` (migration 0029, history/partitions.py): its primary
    key there is (id, started_at), the partition key being in every unique index; the ORM knows a row by `id`
    alone, unique all the same (one sequence). Retention drops whole months (history/archive.py)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "number"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"))
    account_id: Mapped[str | None] = mapped_column(String(40))  # the delivery's (None: a deployment event)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))


class Notification(Base):
    """The in-app feed: one item per account event, titled in the account's locale at fan-out.

    A reminder carries a `dedupe_key` (rules.dedupe_key: the same reminder of the same invoice, trial or
    period); a second event with the key of an earlier one gets no item and no email."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_account", "account_id", "id"),
                      Index("ux_notifications_dedupe", "account_id", "dedupe_key", unique=True))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))


class QuotaAlert(Base):
    """Which quota thresholds (80, 100 percent) were alerted, and in which allotment period."""

    __tablename__ = "quota_alerts"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    quota: Mapped[str] = mapped_column(String(20), primary_key=True)  # users | contacts | broadcasts
    level: Mapped[int] = mapped_column(Integer, primary_key=True)  # percent
    period_start: Mapped[datetime | None]
    alerted_at: Mapped[datetime]
