"""Sign-in links sent in emails (the pay link of an invoice email, a reminder, a move to Free).

Made like the API's portal links (portal/service.py): a random token, stored only as its SHA-256, that
works once. They differ in three ways: they are made when the email is sent (notifications.delivery
calls `EmailLinks`), so no outbox row ever holds a working token; they live
notifications.rules.LINK_LIFETIME (7 days of wall time, rule 14) because an email is read later; and they
open the portal on the invoice the email is about. Opening one takes a click (GET shows a button, POST
signs in): mail scanners that fetch every link of an email do not use it up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.notifications.rules import LINK_LIFETIME
from langganan.portal import repository
from langganan.portal.models import PortalLink
from langganan.web import sessions

PATH = "/portal/email-link/"


def create(session: Work, account_id: str, invoice_id: str | None, wall_now: datetime) -> str:
    """A new link's token (shown once: in the email)."""
    token = secrets.token_urlsafe(32)
    session.add(PortalLink(id=new_id("pls"), account_id=account_id, token_hash=sessions.hash_token(token),
                           created_at=wall_now, expires_at=wall_now + LINK_LIFETIME, invoice_id=invoice_id))
    session.flush()
    return token


def find(session: Work, token: str) -> PortalLink | None:
    """The link of this token, used or not (locked)."""
    if not token or len(token) > 200:
        return None
    return repository.link_by_token_hash(session, sessions.hash_token(token))


def usable(link: PortalLink | None, wall_now: datetime) -> bool:
    return link is not None and link.used_at is None and link.expires_at > wall_now


def invoice_of(session: Work, link: PortalLink) -> Invoice | None:
    invoice = session.get(Invoice, link.invoice_id) if link.invoice_id else None
    return invoice if invoice is not None and invoice.account_id == link.account_id else None


def destination(session: Work, link: PortalLink) -> str:
    """Where the link lands: the payment page of an unpaid invoice, the detail of any other, or the
    Subscription page."""
    invoice = invoice_of(session, link)
    if invoice is None:
        return "/portal"
    if invoice.status == InvoiceStatus.UNPAID:
        return f"/portal/pay/{invoice.id}"
    return f"/portal/invoices/{invoice.id}"


@dataclass(frozen=True)
class EmailLinks:
    """notifications.delivery.SignInLinks: full URLs under LANGGANAN_PUBLIC_URL."""

    public_url: str

    def __call__(self, session: Work, account_id: str, invoice_id: str | None, wall_now: datetime) -> str:
        return f"{self.public_url}{PATH}{create(session, account_id, invoice_id, wall_now)}"
