"""Webhook endpoints (admin keys only) and Standard Webhooks signing.

Each endpoint has its own `whsec_` secret. A delivery carries the headers webhook-id (the event
id, the same on every retry so receivers can drop repeats), webhook-timestamp (wall time of the
attempt, rule 14) and webhook-signature (v1, HMAC-SHA256 of "id.timestamp.body").
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.kit.errors import Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.webhooks.models import EndpointStatus, WebhookEndpoint

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_EVENTS = 100


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port  # both raise ValueError on a malformed host or port
    except ValueError as exc:
        raise Unprocessable("invalid_url", f"url is not a valid URL ({exc}).", param="url") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise Unprocessable("invalid_url", "url must be an absolute http:// or https:// URL.", param="url")
    if len(url) > 2000:
        raise Unprocessable("invalid_url", "url must be at most 2000 characters.", param="url")
    return url


def check_events(events: list[str]) -> list[str]:
    if not events:
        raise Unprocessable("invalid_events", "events must name at least one event type, or \"*\" for all.",
                            param="events")
    if len(events) > MAX_EVENTS:
        raise Unprocessable("invalid_events", f"events may name at most {MAX_EVENTS} types.", param="events")
    out: list[str] = []
    for name in events:
        if name != "*" and not EVENT_NAME.match(name):
            raise Unprocessable("invalid_events", f"{name!r} is not an event type name such as invoice.paid, "
                                "nor \"*\".", param="events")
        if name not in out:
            out.append(name)
    return out


def create(session: Work, url: str, events: list[str], description: str | None, now: datetime, *,
           by: Actor) -> WebhookEndpoint:
    """A new endpoint (its creation in the audit log, by `by`; never its secret)."""
    endpoint = WebhookEndpoint(id=new_id("we"), url=check_url(url), events=check_events(events), secret=new_secret(),
                               description=(description or "").strip() or None, status=EndpointStatus.ENABLED,
                               created_at=now)
    session.add(endpoint)
    session.flush()
    audit.record(session, by, "webhook_endpoint.created", target_type="webhook_endpoint", target_id=endpoint.id,
                 now=now, after={"url": endpoint.url, "events": list(endpoint.events), "status": "enabled"})
    return endpoint


def signed_headers(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    return {"content-type": "application/json", "user-agent": "langganan-webhooks/1",
            "webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body)}
