"""Portal login links (POST /v1/accounts/{id}/portal-sessions): a random token stored as its SHA-256,
valid once and for a short while (wall time, rule 14). Opening it starts a browser session."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from langganan.accounts.models import Account
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.portal import repository
from langganan.portal.models import PortalLink
from langganan.web import sessions
from langganan.web.models import SessionKind, WebSession

LINK_LIFETIME = timedelta(hours=1)
STAFF_VIEW_LIFETIME = timedelta(minutes=30)  # a staff member's read-only look at an account's portal


def create_link(session: Work, account: Account, wall_now: datetime) -> tuple[PortalLink, str]:
    token = secrets.token_urlsafe(32)
    link = PortalLink(id=new_id("pls"), account_id=account.id, token_hash=sessions.hash_token(token),
                      created_at=wall_now, expires_at=wall_now + LINK_LIFETIME)
    session.add(link)
    session.flush()
    return link, token


def open_link(session: Work, token: str, wall_now: datetime) -> tuple[WebSession, str] | None:
    """Trade an unused, unexpired link for a portal browser session; None when the link is no good."""
    if not token or len(token) > 200:
        return None
    link = repository.link_by_token_hash(session, sessions.hash_token(token))
    if link is None or link.used_at is not None or link.expires_at <= wall_now:
        return None
    link.used_at = wall_now
    return sessions.create(session, SessionKind.PORTAL, account_id=link.account_id, now=wall_now)


def open_staff_view(session: Work, account: Account, staff_user_id: str, wall_now: datetime) -> tuple[WebSession, str]:
    """A portal session for a staff member to see `account`'s portal as its customer does, read-only: a portal
    session that names its staff user is a staff view (portal.deps refuses every change it asks for), short-lived
    and never the customer's own session."""
    row, token = sessions.create(session, SessionKind.PORTAL, account_id=account.id, staff_user_id=staff_user_id,
                                 now=wall_now)
    row.expires_at = wall_now + STAFF_VIEW_LIFETIME
    return row, token
