"""Browser sessions for the portal and the console, and the CSRF check every form passes.

A session cookie carries a random token; only its SHA-256 is stored. Cookies are HttpOnly,
SameSite=Lax, scoped to their area's path, and Secure when the request came over HTTPS. Expiry
is wall time (rule 14). Each session has its own CSRF token, echoed by every form as a hidden
field and by htmx requests as the X-CSRF-Token header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response

from langganan.kit.clock import wall_now
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.web import repository
from langganan.web.models import SessionKind, WebSession

COOKIES = {SessionKind.PORTAL: "langganan_portal", SessionKind.CONSOLE: "langganan_console"}
PATHS = {SessionKind.PORTAL: "/portal", SessionKind.CONSOLE: "/console"}
LIFETIMES = {SessionKind.PORTAL: timedelta(hours=12), SessionKind.CONSOLE: timedelta(hours=8)}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Visitor:
    """Who a request's cookie belongs to: one account (portal) or one staff user (console)."""

    session_id: str
    kind: SessionKind
    account_id: str | None
    staff_user_id: str | None
    csrf_token: str


def create(session: Work, kind: SessionKind, *, account_id: str | None = None, staff_user_id: str | None = None,
           now: datetime | None = None) -> tuple[WebSession, str]:
    now = now or wall_now()
    token = secrets.token_urlsafe(32)
    row = WebSession(id=new_id("ws"), kind=kind, account_id=account_id, staff_user_id=staff_user_id,
                     token_hash=hash_token(token), csrf_token=secrets.token_urlsafe(32), created_at=now,
                     expires_at=now + LIFETIMES[kind])
    session.add(row)
    session.flush()
    return row, token


def resolve(session: Work, kind: SessionKind, token: str | None, now: datetime | None = None) -> Visitor | None:
    if not token or len(token) > 200:
        return None
    now = now or wall_now()
    row = repository.session_by_token_hash(session, hash_token(token))
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now:
        return None
    return Visitor(row.id, row.kind, row.account_id, row.staff_user_id, row.csrf_token)


def revoke(session: Work, session_id: str, now: datetime | None = None) -> None:
    row = session.get(WebSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or wall_now()


def set_cookie(response: Response, request: Request, kind: SessionKind, token: str, expires_at: datetime) -> None:
    response.set_cookie(COOKIES[kind], token, expires=expires_at, path=PATHS[kind], httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


def clear_cookie(response: Response, kind: SessionKind) -> None:
    response.delete_cookie(COOKIES[kind], path=PATHS[kind])


def csrf_ok(expected: str, form_value: str | None, header_value: str | None) -> bool:
    given = form_value or header_value or ""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
