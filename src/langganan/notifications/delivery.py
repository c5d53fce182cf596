"""Sending deliveries outside the database transaction: claim → commit → send → record the attempt.

Claiming counts the attempt and pushes `next_attempt_at` out by a lease longer than any send can
take, then commits; the send happens with no transaction open; a second transaction records the
attempt (status code or error, duration) and either marks the delivery succeeded, schedules the
next attempt with exponential backoff, or gives up after the last one. A worker that dies between
send and record leaves the delivery to be retried when the lease ends (receivers drop the repeat
by its webhook-id); a delivery recorded as succeeded is never claimed again. All times here are
wall time (rule 14).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from langganan import metrics
from langganan.config import Settings
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.notifications import repository
from langganan.notifications.mailer import Email, Mailer
from langganan.notifications.models import Channel, DeliveryAttempt, DeliveryStatus
from langganan.notifications.rules import next_attempt_at
from langganan.webhooks import service as webhooks
from langganan.webhooks.models import EndpointStatus, WebhookEndpoint

BATCH = 20


@dataclass(frozen=True)
class Outgoing:
    """What one claimed delivery needs to be sent, copied out of the session before it closes."""

    id: str
    event_id: str
    channel: str
    attempt: int
    body: str
    recipient: str | None = None
    subject: str | None = None
    url: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None


@dataclass
class DeliveryReport:
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.retrying + self.failed


@dataclass
class Courier:
    """Sends claimed deliveries: email through the mailer, webhooks over HTTP, signed."""

    mailer: Mailer
    settings: Settings
    wall: Callable[[], datetime] = wall_now
    http: httpx.Client = field(default_factory=lambda: httpx.Client(follow_redirects=False))

    @property
    def lease(self) -> timedelta:
        # every send of a claimed batch ends within its timeout; the lease outlasts the whole batch
        return timedelta(seconds=BATCH * (self.settings.delivery_timeout_seconds + 1) + 60)

    def send(self, out: Outgoing) -> Outcome:
        started, clock = self.wall(), time.monotonic()
        status: int | None = None
        try:
            if out.channel == Channel.EMAIL:
                assert out.recipient is not None and out.subject is not None
                self.mailer.send(Email(to=out.recipient, subject=out.subject, body=out.body, reference=out.id))
            else:
                assert out.url is not None and out.secret is not None
                headers = webhooks.signed_headers(out.secret, out.event_id, out.body, self.wall())
                response = self.http.post(out.url, content=out.body.encode(), headers=headers,
                                          timeout=self.settings.delivery_timeout_seconds)
                status = response.status_code
                if not 200 <= status < 300:
                    return Outcome(False, started, _ms(clock), status, f"HTTP {status}")
        except Exception as exc:  # timeouts, refused connections, SMTP errors: all retried
            return Outcome(False, started, _ms(clock), status, f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(True, started, _ms(clock), status)

    def claim(self, db: Database) -> tuple[list[Outgoing], int]:
        """Claim due deliveries; returns those to send and how many rows were due (some may be canceled)."""
        with db.transaction() as session:
            now = self.wall()
            claimed: list[Outgoing] = []
            due = repository.claim_due_deliveries(session, now, BATCH)
            for d in due:
                endpoint = session.get(WebhookEndpoint, d.endpoint_id) if d.endpoint_id else None
                if endpoint is not None and endpoint.status != EndpointStatus.ENABLED:
                    d.status, d.next_attempt_at, d.updated_at = DeliveryStatus.CANCELED, None, now
                    continue
                d.attempts += 1
                d.next_attempt_at = now + self.lease
                d.updated_at = now
                claimed.append(Outgoing(id=d.id, event_id=d.event_id, channel=d.channel, attempt=d.attempts,
                                        body=d.body, recipient=d.recipient, subject=d.subject,
                                        url=endpoint.url if endpoint else None,
                                        secret=endpoint.secret if endpoint else None))
            return claimed, len(due)

    def record(self, db: Database, out: Outgoing, outcome: Outcome) -> str:
        """Store the attempt and move the delivery on; returns succeeded, retrying or failed."""
        s = self.settings
        with db.transaction() as session:
            now = self.wall()
            session.add(DeliveryAttempt(delivery_id=out.id, number=out.attempt, started_at=outcome.started_at,
                                        duration_ms=outcome.duration_ms, succeeded=outcome.succeeded,
                                        status_code=outcome.status_code, error=outcome.error))
            d = repository.delivery(session, out.id, for_update=True)
            assert d is not None
            if d.status != DeliveryStatus.PENDING:  # already settled by an earlier attempt that outlived its lease
                return d.status
            d.updated_at = now
            if outcome.succeeded:
                d.status, d.delivered_at, d.next_attempt_at, d.last_error = DeliveryStatus.SUCCEEDED, now, None, None
                return "succeeded"
            d.last_error = outcome.error
            d.next_attempt_at = next_attempt_at(d.attempts, s.delivery_max_attempts, now,
                                                s.delivery_backoff_seconds, s.delivery_backoff_max_seconds)
            if d.next_attempt_at is None:
                d.status = DeliveryStatus.FAILED
                return "failed"
            return "retrying"

    def deliver_due(self, db: Database) -> DeliveryReport:
        """Send everything due now, batch after batch, until nothing is due."""
        report = DeliveryReport()
        while True:
            batch, due = self.claim(db)
            if not due:
                return report
            for out in batch:
                outcome = self.send(out)
                result = self.record(db, out, outcome)
                metrics.delivery(out.channel, result, outcome.duration_ms / 1000)  # (recorded)
                if result == "succeeded":
                    report.succeeded += 1
                elif result == "failed":
                    report.failed += 1
                elif result == "retrying":
                    report.retrying += 1

    def close(self) -> None:
        self.http.close()


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
