"""Console API keys (owners only): the list (name, role, prefix, created, last used, revoked or expiring), create
(the token is shown once, in the answer to the form, and in no URL), revoke (refused from the next request on,
in every process) and rotate with an overlap window — through the API keys service, each change in the audit
log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.apikeys import repository, service
from langganan.apikeys.models import ApiKey, Role
from langganan.console.pages import PAGE_SIZE, Console, SettingsForm, SettingsPage
from langganan.kit.clock import wall_now
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router

router = api_router(prefix="/console/api-keys", include_in_schema=False)
FormStr = Annotated[str, Form()]
# the overlaps offered when a key is rotated (form value: seconds)
OVERLAPS = {"0": timedelta(0), "3600": timedelta(hours=1), "86400": timedelta(hours=24),
            "604800": timedelta(days=7)}


def _list(c: Console, *, after: str | None = None, msg: str | None = None, created: tuple[ApiKey, str] | None = None,
          rotated: ApiKey | None = None, form: dict[str, str] | None = None, error: DomainError | None = None,
          status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = repository.list_keys(s, PAGE_SIZE, after or None)
        now = wall_now()
        return c.render("console/api_keys.html", rows=rows, more=more, msg=msg, roles=[r.value for r in Role],
                        overlaps=list(OVERLAPS), created=created[0] if created else None,
                        token=created[1] if created else None, rotated=rotated, form=form or {}, error=error,
                        live={k.id for k in rows if service.usable(k, now)}, http_status=status)


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"  # the page holds a token
    return response


@router.get("", response_class=HTMLResponse)
def api_keys_page(c: SettingsPage, after: str | None = None, msg: str | None = None) -> HTMLResponse:
    return _list(c, after=after, msg=msg)


@router.post("", response_class=HTMLResponse)
def create_key(c: SettingsForm, name: FormStr = "", role: FormStr = "") -> Response:
    """Answers with the page itself (not a redirect) so the token appears once and is in no URL."""
    form = {"name": name, "role": role}
    try:
        with c.ctx.unit() as (s, now):
            key, token = service.create(s, role=role, name=name, now=wall_now(), by=c.staff, logged_at=now)
            s.flush()
            s.expunge(key)
    except DomainError as exc:
        return _list(c, form=form, error=exc, status=exc.status)
    return _no_store(_list(c, created=(key, token)))


@router.post("/{key_id}/revoke")
def revoke_key(key_id: str, c: SettingsForm) -> Response:
    with c.ctx.unit() as (s, now):
        service.revoke(s, key_id, by=c.staff, now=wall_now(), logged_at=now)
    return RedirectResponse("/console/api-keys?msg=revoked", status_code=303)


@router.post("/{key_id}/rotate", response_class=HTMLResponse)
def rotate_key(key_id: str, c: SettingsForm, overlap: FormStr = "") -> Response:
    try:
        if overlap not in OVERLAPS:
            raise Unprocessable("invalid_overlap", "Choose how long the old key keeps working.", param="overlap")
        with c.ctx.unit() as (s, now):
            key, token = service.rotate(s, key_id, OVERLAPS[overlap], by=c.staff, now=wall_now(), logged_at=now)
            old = repository.get(s, key_id)
            s.flush()
            s.expunge(key)
            s.expunge(old)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _list(c, error=exc, status=exc.status)
    return _no_store(_list(c, created=(key, token), rotated=old))
