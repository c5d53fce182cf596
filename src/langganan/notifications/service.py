"""Fan-out: each outbox event becomes an email delivery, webhook deliveries and an in-app notification.

The dispatcher claims events not yet dispatched (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
serialises writers) and, in the same transaction, writes their deliveries and feed items and marks
them dispatched. Unique keys on (event, target) and on the feed's event id make a second fan-out
of one event impossible, whatever the number of workers; a reminder's dedupe key (rules.dedupe_key,
unique per account) makes a second event announcing the same reminder a no-op for the customer.
An email goes to the billing contact, the owner in Cc for invoices, receipts and dunning
(rules.EMAIL_KINDS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from langganan.accounts.models import Account
from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.events.models import Event
from langganan.kit.db import added_unless_taken
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.notifications import messages, relevance, repository
from langganan.notifications.models import Channel, Delivery, DeliveryStatus, Notification
from langganan.notifications.rules import dedupe_key, subscribes
from langganan.webhooks import repository as webhooks_repo
from langganan.webhooks.models import EndpointStatus, WebhookEndpoint


def webhook_payload(event: Event) -> str:
    """Standard Webhooks' recommended shape: {type, timestamp, data}; data always names the account."""
    data: dict[str, Any] = {"account_id": event.account_id, **(event.data or {})}
    return json.dumps({"type": event.type, "timestamp": event.created_at.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True)


def _delivery(event: Event, now: datetime, **fields: Any) -> Delivery:
    return Delivery(id=new_id("dlv"), event_id=event.id, event_type=event.type, account_id=event.account_id,
                    status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now, updated_at=now,
                    **fields)


def _kept(session: Work, item: Notification) -> bool:
    """Add a feed item; one whose dedupe key another item of the account already has is not kept (a
    concurrent worker's item wins at the unique index: the savepoint takes ours back)."""
    if item.dedupe_key is None:
        session.add(item)
        return True
    if repository.has_dedupe_key(session, item.account_id, item.dedupe_key):
        return False
    return added_unless_taken(session, item)


def fan_out(session: Work, event: Event, endpoints: Sequence[WebhookEndpoint], now: datetime) -> None:
    account = session.get(Account, event.account_id) if event.account_id else None
    if account is not None:
        data = event.data or {}
        message = messages.message_for(session, event, account)
        item = Notification(id=new_id("ntf"), account_id=account.id, event_id=event.id, type=event.type,
                            title=message.subject, body=message.summary, created_at=event.created_at,
                            dedupe_key=dedupe_key(event.type, data))
        # the email goes with the feed item (a repeated reminder gets neither), unless it would tell the
        # customer to pay for something that can no longer be paid (relevance.py; checked again when sent)
        if _kept(session, item) and message.email is not None and message.to is not None \
                and relevance.stale_reason(session, event.type, data, account.id) is None:
            session.add(_delivery(event, now, channel=Channel.EMAIL, target="email", recipient=message.to,
                                  cc=message.cc, subject=message.subject, body=message.email, html=message.html,
                                  invoice_id=message.invoice_id, attach_invoice=message.attach_invoice))
    subscribed = [e for e in endpoints if subscribes(e.events, event.type)]
    if subscribed:
        payload = webhook_payload(event)
        for endpoint in subscribed:
            session.add(_delivery(event, now, channel=Channel.WEBHOOK, target=endpoint.id, endpoint_id=endpoint.id,
                                  body=payload))
    event.dispatched_at = now


def dispatch(session: Work, now: datetime, limit: int) -> int:
    """Fan out up to `limit` undispatched events; returns how many were claimed."""
    events = repository.claim_undispatched(session, limit)
    if events:
        endpoints = webhooks_repo.enabled(session)
        for event in events:
            fan_out(session, event, endpoints, now)
        session.flush()
    return len(events)


def disable_endpoint(session: Work, endpoint_id: str, now: datetime, *, by: Actor) -> WebhookEndpoint:
    """Stop sending to an endpoint: it keeps its history; deliveries still waiting are canceled (in the audit log,
    by `by`). Disabling it again changes nothing."""
    endpoint = webhooks_repo.get(session, endpoint_id, for_update=True)
    if endpoint.status == EndpointStatus.ENABLED:
        endpoint.status, endpoint.disabled_at = EndpointStatus.DISABLED, now
        canceled = 0
        for delivery in repository.pending_for_endpoint(session, endpoint.id):
            delivery.status, delivery.next_attempt_at, delivery.updated_at = DeliveryStatus.CANCELED, None, now
            canceled += 1
        audit.record(session, by, "webhook_endpoint.disabled", target_type="webhook_endpoint", target_id=endpoint.id,
                     now=now, before={"status": "enabled"}, after={"status": "disabled",
                                                                   "deliveries_canceled": canceled})
    return endpoint


def mark_read(session: Work, account_id: str, notification_id: str, now: datetime) -> Notification:
    """Mark a feed item read; reading it again keeps the first time."""
    row = repository.notification(session, account_id, notification_id, for_update=True)
    if row.read_at is None:
        row.read_at = now
    return row


def mark_all_read(session: Work, account_id: str, now: datetime) -> int:
    """Mark every unread feed item of the account read, in one statement; items read before keep
    their first time. Returns how many were marked."""
    return repository.mark_all_read(session, account_id, now)
