"""What an event says to a person, in the account's locale: subject, one-line summary, email text.

Templates are Jinja2 text files (templates/en.txt, templates/id.txt), one block per event type and
part. Event data carries ids; the details (invoice lines, virtual account, plan, dates) are loaded
from the database when the event is fanned out. Amounts are written as people write them
(Rp15.000) and times in the account's time zone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Template, pass_context
from jinja2.runtime import Context

from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import WalletKind
from langganan.events.models import Event
from langganan.invoices.models import Invoice
from langganan.kit.errors import NotFound
from langganan.kit.locales import LOCALES, format_when
from langganan.kit.money import format_money
from langganan.kit.work import Work
from langganan.notifications import repository
from langganan.payments.models import Payment
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.models import Subscription
from langganan.web import declines

log = logging.getLogger("langganan.notifications")
WALLET_NAMES: dict[str, dict[str, str]] = {"en": {WalletKind.CONVERSATION: "conversation",
                                                  WalletKind.BROADCAST: "broadcast"},
                "id": {WalletKind.CONVERSATION: "percakapan", WalletKind.BROADCAST: "broadcast"}}
QUOTA_NAMES = {"en": {"users": "users", "contacts": "contacts", "broadcasts": "broadcast messages this month"},
               "id": {"users": "pengguna", "contacts": "kontak", "broadcasts": "pesan broadcast bulan ini"}}


@dataclass(frozen=True)
class Message:
    subject: str
    summary: str
    email: str | None  # the whole email text; None when the event type sends no email


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@pass_context
def _money(ctx: Context, amount: Any, currency: Any = None) -> str:
    if not isinstance(amount, int) or isinstance(amount, bool):
        return ""
    cur = currency if isinstance(currency, str) and currency else ctx.get("currency", "IDR")
    return format_money(amount, cur, ctx["locale"])


def _format(ctx: Context, value: Any, pattern: str, zone: bool) -> str:
    dt = _as_datetime(value)
    if dt is None:
        return ""
    local = dt.astimezone(ZoneInfo(ctx["timezone"]))
    text = format_when(local, ctx["timezone"], ctx["locale"], pattern)
    return f"{text} {local.tzname()}" if zone else text


@pass_context
def _date(ctx: Context, value: Any) -> str:
    return _format(ctx, value, "d MMMM y", zone=False)


@pass_context
def _datetime(ctx: Context, value: Any) -> str:
    return _format(ctx, value, "d MMMM y, HH:mm", zone=True)


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=False,
                      undefined=ChainableUndefined, keep_trailing_newline=False)
    env.filters.update(money=_money, date=_date, datetime=_datetime)
    return env


def _templates(locale: str) -> tuple[Template, Template]:
    env = _environment()
    return env.get_template(f"{locale}.txt"), env.get_template(f"{locale}_macros.txt")


def _block(name: str) -> str:
    return name.replace(".", "_")


def render(event_type: str, locale: str, values: dict[str, Any], *, generic: bool = False) -> Message:
    """Render an event's message; a type without its own blocks (or `generic`) gets the generic title
    and summary, and no email."""
    locale = locale if locale in LOCALES else "id"
    template, macros = _templates(locale)
    values = {**values, "event_type": event_type, "locale": locale}
    values["m"] = macros.make_module(values)

    def part(name: str) -> str | None:
        block = template.blocks.get(name)
        if block is None:
            return None
        return "".join(block(template.new_context(values))).strip()

    key = "_default" if generic else _block(event_type)
    subject = part(f"{key}__subject")
    summary = part(f"{key}__summary")
    if subject is None or summary is None:
        subject, summary = part("_default__subject"), part("_default__summary")
    body = part(f"{key}__body")
    email = None
    if body is not None:
        email = f"{part('_greeting')}\n\n{body}\n\n--\n{part('_footer')}\n"
    assert subject is not None and summary is not None
    return Message(subject=" ".join(subject.split()), summary=summary, email=email)


def context_for(session: Work, event: Event, account: Account) -> dict[str, Any]:
    """The current details an event's message needs, loaded from the ids its data carries."""
    data = event.data or {}
    invoice = session.get(Invoice, data["invoice_id"]) if isinstance(data.get("invoice_id"), str) else None
    payment: Payment | None = None
    if isinstance(data.get("payment_id"), str):
        payment = session.get(Payment, data["payment_id"])
    elif invoice is not None:
        payment = repository.latest_virtual_account(session, invoice.id)
    try:
        sub: Subscription | None = subs_repo.for_account(session, account.id)
    except NotFound:
        sub = None
    plan = None
    if sub is not None:
        plan = catalog_service.get(session, sub.catalog_version_id).plans[sub.plan_code].name
    locale = account.locale if account.locale in LOCALES else "id"
    return {
        "account": account, "data": data, "invoice": invoice, "payment": payment, "subscription": sub,
        "plan": data.get("plan_name") or plan, "currency": account.currency, "timezone": account.timezone,
        "period_end": data.get("period_end") or (sub.current_period_end if sub else None),
        "trial_end": data.get("trial_end") or (sub.trial_end if sub else None),
        "wallet_name": WALLET_NAMES[locale].get(str(data.get("wallet")), str(data.get("wallet", ""))),
        "quota_name": QUOTA_NAMES[locale].get(str(data.get("quota")), str(data.get("quota", ""))),
        # why a payment failed, in the account's language (never the gateway's English text when the code is known)
        "decline": (declines.message(payment.failure_code, locale, payment.failure_message) or "").rstrip(".")
        if payment is not None else "",
    }


def message_for(session: Work, event: Event, account: Account) -> Message:
    """The event's message for this account; a template error falls back to the generic message."""
    try:
        return render(event.type, account.locale, context_for(session, event, account))
    except Exception:
        log.exception("rendering %s (%s) failed; sending the generic message", event.type, event.id)
        return render(event.type, account.locale, {"account": account, "currency": account.currency,
                                                   "timezone": account.timezone}, generic=True)
