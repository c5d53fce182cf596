"""What an event says to a person, in the account's locale: subject, one-line summary, and the email in
two parts with the same content, plain text and HTML.

One template for every language (templates/email.txt, its macros in templates/email_macros.txt), one block
per event type and part, in which every sentence is a catalog message (`t("email.invoice_created.subject",
number=...)`, src/langganan/locale; conditional variants are keys of their own). The text part renders the
blocks as they are; the HTML part renders the same blocks again with autoescape on (`html` true, so the macros
draw tables, and the catalog's texts are markup whose values are escaped) inside templates/layout.html, a
single-column, inline-styled layout that mail clients render. Event data carries ids; the details (invoice
lines, virtual account, plan, dates) are loaded from the database when the event is fanned out. Amounts and
counts are written as the account's language writes them (kit.money.format_money) and times in its time zone,
with Babel's names of months and days. The strings the layout adds (the pay button, the link's note) are the
catalog's `mail.*`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Template, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.events.models import Event
from langganan.invoices import repository as invoices_repo
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.errors import NotFound
from langganan.kit.locales import LOCALES, format_number, format_when
from langganan.kit.money import format_money
from langganan.kit.work import Work
from langganan.notifications import repository
from langganan.notifications.rules import LINK_LIFETIME, EmailKind, email_kind, recipients
from langganan.payments.models import Payment
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions.models import Subscription
from langganan.web import declines
from langganan.web.i18n import Translator, translator

log = logging.getLogger("langganan.notifications")
# Where an email's one-time sign-in link goes, in both parts: the link is made when the email is sent
# (delivery.Courier), so the outbox never holds a working token; the console's outbox shows it redacted.
LINK = "%LANGGANAN_SIGN_IN_LINK%"


@dataclass(frozen=True)
class Message:
    subject: str
    summary: str
    email: str | None  # the email's plain-text part; None when the event type sends no email
    html: str | None = None  # the email's HTML part: the same content
    to: str | None = None  # the billing contact (the owner when the account has none)
    cc: str | None = None  # the owner, for invoices, receipts and dunning (rules.EMAIL_KINDS)
    invoice_id: str | None = None  # the invoice its pay link opens
    attach_invoice: bool = False  # the PDF of `invoice_id` goes with it (rendered when it is sent)


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


@pass_context
def _number(ctx: Context, value: Any) -> str:
    """A count grouped as the account's language writes it (1.000 kontak, 1,000 contacts)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    return format_number(value, ctx["locale"])


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
def _environment(html: bool) -> Environment:
    """The text environment, and the HTML one: the same templates rendered with every value escaped (their
    `html` variable is true there, so macros draw tables instead of indented lines)."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=html,
                      undefined=ChainableUndefined, keep_trailing_newline=False)
    env.filters.update(money=_money, number=_number, date=_date, datetime=_datetime)
    return env


def _templates(html: bool = False) -> tuple[Template, Template]:
    env = _environment(html)
    return env.get_template("email.txt"), env.get_template("email_macros.txt")


def _say(t: Translator, html: bool) -> Callable[..., str]:
    """The templates' `t(key, name=value)`: the catalog's message with its values; in the HTML part the
    message is markup (written by us, like the template around it) and only its values are escaped."""
    def say(key: str, **values: Any) -> str:
        return Markup(t(key)).format(**values) if html else t(key, **values)
    return say


def _name(t: Translator, prefix: str, code: Any) -> str:
    """What the catalog calls a wallet or a quota (`prefix` + its code); a code it does not know, as it is."""
    return t(prefix + str(code)) if t.has(prefix + str(code)) else str(code or "")


def _block(name: str) -> str:
    return name.replace(".", "_")


class _Parts:
    """The template's blocks, rendered in one language with one set of values (text or HTML)."""

    def __init__(self, t: Translator, values: dict[str, Any], *, html: bool) -> None:
        self.template, macros = _templates(html)
        self.values = {**values, "html": html, "t": _say(t, html)}
        self.values["m"] = macros.make_module(self.values)

    def __call__(self, name: str) -> str | None:
        block = self.template.blocks.get(name)
        if block is None:
            return None
        text = "".join(block(self.template.new_context(self.values))).strip()
        return Markup(text) if self.values["html"] else text  # (with autoescape: escaped already)


PARAGRAPH_STYLE = "margin:0 0 16px 0;"


def html_paragraphs(body: str) -> Markup:
    """An HTML part's body from a block rendered with autoescape: the lines a template wrote as HTML (they
    start with "<"; a value cannot start a line that way, its "<" is escaped) stay as they are, and each
    run of other lines becomes a paragraph, its lines joined by <br>."""
    out: list[Markup] = []
    run: list[Markup] = []

    def close() -> None:
        if run:
            out.append(Markup('<p style="{}">{}</p>').format(PARAGRAPH_STYLE, Markup("<br>\n").join(run)))
            run.clear()

    for line in body.splitlines():
        text = Markup(line.strip())  # (rendered with autoescape: already escaped)
        if not text:
            close()
        elif text.startswith("<"):
            close()
            out.append(text)
        else:
            run.append(text)
    close()
    return Markup("\n").join(out)


def pdf_filename(number: str) -> str:
    """An invoice PDF's file name, as the API's download names it."""
    return number.replace("/", "-") + ".pdf"


def _action(kind: EmailKind, values: dict[str, Any], t: Translator) -> str | None:
    """The label of the email's link: pay (or view) its invoice, or open the Subscription page."""
    invoice = values.get("invoice")
    if kind.link == "invoice" and isinstance(invoice, Invoice):
        if invoice.status == InvoiceStatus.UNPAID:
            amount = format_money(invoice.total, invoice.currency, t.lang)
            return t("mail.pay_invoice", number=invoice.number, amount=amount)
        return t("mail.view_invoice", number=invoice.number)
    if kind.link == "portal":
        return t("mail.open_portal")
    return None


def render(event_type: str, locale: str, values: dict[str, Any], *, generic: bool = False) -> Message:
    """Render an event's message; a type without its own blocks (or `generic`) gets the generic title
    and summary, and no email, and so does a type whose email body comes out empty."""
    locale = locale if locale in LOCALES else "id"
    t = translator(locale)
    data = values.get("data")
    data = data if isinstance(data, dict) else {}
    values = {**values, "event_type": event_type, "locale": locale,
              "wallet_name": _name(t, "email.wallet.", data.get("wallet")),
              "quota_name": _name(t, "quota.", data.get("quota"))}
    part = _Parts(t, values, html=False)
    key = "_default" if generic else _block(event_type)
    subject = part(f"{key}__subject")
    summary = part(f"{key}__summary")
    if subject is None or summary is None:
        subject, summary = part("_default__subject"), part("_default__summary")
    assert subject is not None and summary is not None
    subject = " ".join(subject.split())
    subject = subject[:1].upper() + subject[1:]  # ("conversation balance topped up": a name opened it)
    body = part(f"{key}__body")
    if not body:
        return Message(subject=subject, summary=summary, email=None)
    kind = email_kind(event_type)
    invoice = values.get("invoice")
    invoice = invoice if isinstance(invoice, Invoice) else None
    action = _action(kind, values, t)
    attachment = None
    if kind.attach_invoice and invoice is not None:
        attachment = t("mail.attached", filename=pdf_filename(invoice.number))
    greeting, footer = part("_greeting"), part("_footer")
    extra = ""
    if action:
        extra += f"{action}:\n{LINK}\n{t('mail.link_note', days=LINK_LIFETIME.days)}\n\n"
    if attachment:
        extra += f"{attachment}\n\n"
    text = f"{greeting}\n\n{body}\n\n{extra}--\n{footer}\n"
    markup = _Parts(t, values, html=True)
    html = _environment(True).get_template("layout.html").render(
        locale=locale, subject=subject, summary=summary, greeting=markup("_greeting"),
        body=html_paragraphs(markup(f"{key}__body") or ""), action=action, link=LINK,
        link_note=t("mail.link_note", days=LINK_LIFETIME.days), attachment=attachment,
        footer=html_paragraphs(markup("_footer") or ""))
    to, cc = values.get("to"), values.get("cc")
    about = invoice if invoice is not None and (kind.link == "invoice" or kind.attach_invoice) else None
    return Message(subject=subject, summary=summary, email=text, html=html,
                   to=to if isinstance(to, str) else None, cc=cc if isinstance(cc, str) else None,
                   invoice_id=about.id if about is not None else None, attach_invoice=attachment is not None)


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
    to, cc = recipients(account.email, account.billing_email, copy_owner=email_kind(event.type).copy_owner)
    return {
        "account": account, "data": data, "invoice": invoice, "payment": payment, "subscription": sub,
        "to": to, "cc": cc, "to_owner": to is not None and to.lower() == (account.email or "").lower(),
        "company": account.company_name or account.name,
        "contact": account.contact_name if account.billing_email and account.contact_name else account.name,
        **_moved(session, data, sub),
        "plan": data.get("plan_name") or plan, "currency": account.currency, "timezone": account.timezone,
        "period_end": data.get("period_end") or (sub.current_period_end if sub else None),
        "trial_end": data.get("trial_end") or (sub.trial_end if sub else None),
        # why a payment failed, in the account's language (never the gateway's English text when the code is known)
        "decline": (declines.message(payment.failure_code, locale, payment.failure_message) or "").rstrip(".")
        if payment is not None else "",
    }


def _plan_name(session: Work, sub: Subscription | None, code: Any) -> str:
    """A plan's name from the subscription's catalog (a plan no longer sold: its code, capitalised)."""
    if not isinstance(code, str):
        return ""
    plans = catalog_service.get(session, sub.catalog_version_id).plans if sub is not None else {}
    return plans[code].name if code in plans else code.capitalize()


def _moved(session: Work, data: dict[str, Any], sub: Subscription | None) -> dict[str, Any]:
    """What a plan change (subscription.downgraded) says: the plan left and, when it was not paid, the
    renewal invoice that lapsed."""
    previous = data.get("previous")
    if not isinstance(previous, dict):
        return {}
    lapsed = None
    end = _as_datetime(previous.get("current_period_end"))
    if data.get("reason") == "unpaid" and isinstance(data.get("subscription_id"), str) and end is not None:
        lapsed = invoices_repo.renewal_for(session, data["subscription_id"], end)
    return {"previous_plan": _plan_name(session, sub, previous.get("plan")),
            "new_plan": _plan_name(session, sub, data.get("plan")), "lapsed": lapsed,
            "moved_at": data.get("current_period_start")}


def message_for(session: Work, event: Event, account: Account) -> Message:
    """The event's message for this account; a template error falls back to the generic message."""
    try:
        return render(event.type, account.locale, context_for(session, event, account))
    except Exception:
        log.exception("rendering %s (%s) failed; sending the generic message", event.type, event.id)
        return render(event.type, account.locale, {"account": account, "currency": account.currency,
                                                   "timezone": account.timezone}, generic=True)
