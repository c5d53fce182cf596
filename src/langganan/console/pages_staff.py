"""Console staff (owners only): who may sign in, with which role (owner, finance, support, read-only); add a
staff user (a first password is made and shown once), change a role, disable or enable — each in the audit log.
The last active owner keeps the owner role (409 `last_owner`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.console import repository, service
from langganan.console.models import StaffUser
from langganan.console.pages import Console, SettingsForm, SettingsPage
from langganan.console.roles import StaffRole
from langganan.kit.clock import wall_now
from langganan.kit.errors import DomainError
from langganan.kit.openapi import api_router

router = api_router(prefix="/console/staff", include_in_schema=False)
FormStr = Annotated[str, Form()]
MESSAGES = ("role_changed", "disabled", "enabled")


def _list(c: Console, *, msg: str | None = None, created: tuple[StaffUser, str] | None = None,
          form: dict[str, str] | None = None, error: DomainError | None = None, error_id: str | None = None,
          status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows = repository.list_staff(s)
        response = c.render("console/staff.html", rows=rows, roles=[r.value for r in StaffRole],
                            msg=msg if msg in MESSAGES else None, created=created[0] if created else None,
                            password=created[1] if created else None, form=form or {}, error=error,
                            error_id=error_id, http_status=status)
    if created:
        response.headers["Cache-Control"] = "no-store"  # the page holds a first password
    return response


@router.get("", response_class=HTMLResponse)
def staff_page(c: SettingsPage, msg: str | None = None) -> HTMLResponse:
    return _list(c, msg=msg)


@router.post("", response_class=HTMLResponse)
def add_staff(c: SettingsForm, email: FormStr = "", name: FormStr = "", role: FormStr = "") -> Response:
    """Answers with the page itself (not a redirect) so the first password appears once and is in no URL."""
    form = {"email": email, "name": name, "role": role}
    try:
        with c.ctx.unit() as (s, now):
            user, password = service.add_staff(s, email, name, role, by=c.staff, now=wall_now(), logged_at=now)
            s.flush()
            s.expunge(user)
    except DomainError as exc:
        return _list(c, form=form, error=exc, status=exc.status)
    return _list(c, created=(user, password))


def _act(c: Console, staff_id: str, msg: str, act: str, role: str = "") -> Response:
    try:
        with c.ctx.unit() as (s, now):
            if act == "role":
                service.change_role(s, staff_id, role, by=c.staff, logged_at=now)
            else:
                service.set_disabled(s, staff_id, act == "disable", by=c.staff, now=wall_now(), logged_at=now)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _list(c, error=exc, error_id=staff_id, status=exc.status)
    return RedirectResponse(f"/console/staff?msg={msg}#{staff_id}", status_code=303)


@router.post("/{staff_id}/role", response_class=HTMLResponse)
def change_role(staff_id: str, c: SettingsForm, role: FormStr = "") -> Response:
    return _act(c, staff_id, "role_changed", "role", role)


@router.post("/{staff_id}/disable", response_class=HTMLResponse)
def disable(staff_id: str, c: SettingsForm) -> Response:
    return _act(c, staff_id, "disabled", "disable")


@router.post("/{staff_id}/enable", response_class=HTMLResponse)
def enable(staff_id: str, c: SettingsForm) -> Response:
    return _act(c, staff_id, "enabled", "enable")
