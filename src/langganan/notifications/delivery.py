"""Sending deliveries outside the database transaction: claim → commit → send → record the attempt.

Claiming counts the attempt and pushes `next_attempt_at` out by a lease longer than any send can
take, then commits; the send happens with no transaction open; a second transaction records the
attempt (status code or error, duration) and either marks the delivery succeeded, schedules the
next attempt with exponential backoff, or gives up after the last one. A worker that dies between
send and record leaves the delivery to be retried when the lease ends (receivers drop the repeat
by its webhook-id); a delivery recorded as succeeded is never claimed again. All times here are
wall time (rule 14).

An email is finished when it is claimed: a "pay before" email that events overtook is canceled instead
(relevance.py: checked at fan-out and here), and its pay link gets a fresh one-time sign-in link (made by
`links`, which the application wires to the portal; only the link's hash is stored, so the outbox never
holds a working token). The invoice PDF is drawn after the claim commits (attachments.py).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

import httpx
from markupsafe import escape

from langganan import metrics
from langganan.config import Settings
from langganan.events.models import Event
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.stopping import Stopping, never
from langganan.kit.work import Work
from langganan.notifications import attachments, relevance, repository
from langganan.notifications.mailer import Attachment, Email, Mailer
from langganan.notifications.messages import LINK
from langganan.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
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
    cc: str | None = None
    html: str | None = None
    invoice_id: str | None = None  # the invoice whose PDF goes with the email, when `attach_invoice`
    attach_invoice: bool = False
    attachments: tuple[Attachment, ...] = ()


class SignInLinks(Protocol):
    def __call__(self, session: Work, account_id: str, invoice_id: str | None, wall_now: datetime) -> str:
        """A one-time portal sign-in link for the account, opening on the invoice (or the Subscription page)."""
        ...


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


@cache
def tls() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's roots), made once per process: reading the roots takes ~20 ms
    and every app makes a courier."""
    return httpx.create_ssl_context()


@dataclass
class Courier:
    """Sends claimed deliveries: email through the mailer, webhooks over HTTP, signed."""

    mailer: Mailer
    settings: Settings
    wall: Callable[[], datetime] = wall_now
    http: httpx.Client = field(default_factory=lambda: httpx.Client(follow_redirects=False, verify=tls()))
    # Makes emailed sign-in links (langganan.app wires portal.email_links); without it a pay link is the
    # portal's address, where the customer signs in from their product.
    links: SignInLinks | None = None

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
                self.mailer.send(Email(to=out.recipient, subject=out.subject, body=out.body, reference=out.id,
                                       cc=(out.cc,) if out.cc else (), html=out.html,
                                       attachments=out.attachments))
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
                stale = self._stale(session, d)
                if stale is not None:
                    d.status, d.next_attempt_at, d.updated_at = DeliveryStatus.CANCELED, None, now
                    d.last_error = f"not sent: {stale}"[:500]
                    continue
                d.attempts += 1
                d.next_attempt_at = now + self.lease
                d.updated_at = now
                out = Outgoing(id=d.id, event_id=d.event_id, channel=d.channel, attempt=d.attempts,
                               body=d.body, recipient=d.recipient, subject=d.subject,
                               url=endpoint.url if endpoint else None,
                               secret=endpoint.secret if endpoint else None, cc=d.cc, html=d.html,
                               invoice_id=d.invoice_id, attach_invoice=d.attach_invoice)
                claimed.append(self._with_link(session, d, out, now))
            return claimed, len(due)

    def _stale(self, session: Work, d: Delivery) -> str | None:
        """Why a claimed email would now be wrong (relevance.py), or None."""
        if d.channel != Channel.EMAIL or d.account_id is None or d.event_type not in relevance.PAY_BEFORE:
            return None
        event = session.get(Event, d.event_id)
        return relevance.stale_reason(session, d.event_type, event.data if event else {}, d.account_id)

    def _with_link(self, session: Work, d: Delivery, out: Outgoing, now: datetime) -> Outgoing:
        """The email with its sign-in link in place of messages.LINK (a new link on every attempt: only
        the attempt that is delivered reaches anybody)."""
        if out.channel != Channel.EMAIL or LINK not in out.body or d.account_id is None:
            return out
        if self.links is not None:
            url = self.links(session, d.account_id, d.invoice_id, now)
        else:
            url = f"{self.settings.public_url}/portal"
        html = out.html.replace(LINK, str(escape(url))) if out.html is not None else None
        return replace(out, body=out.body.replace(LINK, url), html=html)

    def _attach(self, db: Database, out: Outgoing) -> Outgoing:
        """The claimed email with its invoice PDF: read in a short transaction, drawn after it ends."""
        if not out.attach_invoice or out.invoice_id is None:
            return out
        with db.transaction() as session:
            source = attachments.invoice_pdf(session, out.invoice_id)
        return replace(out, attachments=(source.render(),)) if source is not None else out

    def record(self, db: Database, out: Outgoing, outcome: Outcome) -> str:
        """Store the attempt and move the delivery on; returns succeeded, retrying or failed."""
        s = self.settings
        with db.transaction() as session:
            now = self.wall()
            d = repository.delivery(session, out.id, for_update=True)
            assert d is not None
            session.add(DeliveryAttempt(delivery_id=out.id, account_id=d.account_id, number=out.attempt,
                                        started_at=outcome.started_at, duration_ms=outcome.duration_ms,
                                        succeeded=outcome.succeeded, status_code=outcome.status_code,
                                        error=outcome.error))
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

    def deliver_due(self, db: Database, stopping: Stopping = never) -> DeliveryReport:
        """Send everything due now, batch after batch, until nothing is due or `stopping()` (asked between
        batches: a claimed batch is sent and recorded first)."""
        report = DeliveryReport()
        while not stopping():
            batch, due = self.claim(db)
            if not due:
                break
            for out in batch:
                try:
                    out = self._attach(db, out)
                except Exception as exc:  # the invoice could not be read or drawn: retried like a failed send
                    outcome = Outcome(False, self.wall(), 0, None, f"{type(exc).__name__}: {exc}"[:500])
                else:
                    outcome = self.send(out)
                result = self.record(db, out, outcome)
                metrics.delivery(out.channel, result, outcome.duration_ms / 1000)  # (recorded)
                if result == "succeeded":
                    report.succeeded += 1
                elif result == "failed":
                    report.failed += 1
                elif result == "retrying":
                    report.retrying += 1
        return report

    def close(self) -> None:
        self.http.close()


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
