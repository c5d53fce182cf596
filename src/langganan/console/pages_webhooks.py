"""Console webhook endpoints: the list (url, events, status), create (the `whsec_` secret is shown once,
in the answer to the create form, and never again), disable, and an endpoint's deliveries with each
attempt (status code or error, time) — through the webhooks and notifications services."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.console.pages import PAGE_SIZE, Console, ConsolePage, SettingsForm
from langganan.kit.clock import wall_now
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.notifications import repository as notifications_repo
from langganan.notifications import service as notifications
from langganan.webhooks import repository, service
from langganan.webhooks.models import WebhookEndpoint

router = api_router(prefix="/console/webhooks", include_in_schema=False)
FormStr = Annotated[str, Form()]
SEPARATORS = re.compile(r"[\s,]+")
MAX_DESCRIPTION = 200


def _list(c: Console, *, after: str | None = None, msg: str | None = None, created: WebhookEndpoint | None = None,
          form: dict[str, str] | None = None, error: DomainError | None = None, status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = repository.list_endpoints(s, PAGE_SIZE, after or None)
        return c.render("console/webhooks.html", rows=rows, more=more, msg=msg, created=created,
                        form=form or {}, error=error, http_status=status)


@router.get("", response_class=HTMLResponse)
def webhooks_page(c: ConsolePage, after: str | None = None, msg: str | None = None) -> HTMLResponse:
    return _list(c, after=after, msg=msg)


@router.post("", response_class=HTMLResponse)
def create_endpoint(c: SettingsForm, url: FormStr = "", events: FormStr = "", description: FormStr = "") -> Response:
    """Answers with the page itself (not a redirect) so the secret appears once and is in no URL."""
    form = {"url": url, "events": events, "description": description}
    try:
        if len(description.strip()) > MAX_DESCRIPTION:
            raise Unprocessable("invalid_parameter", f"description: at most {MAX_DESCRIPTION} characters.",
                                param="description")
        names = [name for name in SEPARATORS.split(events.strip()) if name]
        with c.ctx.unit() as (s, _now):
            endpoint = service.create(s, url, names, description, wall_now(), by=c.staff)
            s.expunge(endpoint)
    except DomainError as exc:
        return _list(c, form=form, error=exc, status=exc.status)
    return _list(c, created=endpoint)


@router.post("/{endpoint_id}/disable")
def disable_endpoint(endpoint_id: str, c: SettingsForm) -> Response:
    with c.ctx.unit() as (s, _now):
        notifications.disable_endpoint(s, endpoint_id, wall_now(), by=c.staff)
    return RedirectResponse("/console/webhooks?msg=disabled", status_code=303)


@router.get("/{endpoint_id}", response_class=HTMLResponse)
def deliveries_page(endpoint_id: str, c: ConsolePage, after: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        endpoint = repository.get(s, endpoint_id)
        rows, more = notifications_repo.deliveries_for_endpoint(s, endpoint.id, PAGE_SIZE, after or None)
        attempts = notifications_repo.attempts_for(s, [d.id for d in rows])
        return c.render("console/webhook.html", endpoint=endpoint, rows=rows, more=more, attempts=attempts)
