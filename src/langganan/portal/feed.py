"""The portal's notifications feed: each happening on the account once, as a sentence in the page's language.

The in-app feed has one row per event (notifications.service.fan_out), titled in the account's language when it
was fanned out. The page says it again in the visitor's language from the event's data, and one thing that
happened is one entry: the events one change writes at one instant about one invoice (invoice.paid and
payment.succeeded), about the plan (trial.ended and subscription.upgraded) or about a wallet's free credit (the
old allotment's expiry and the new grant) are grouped, and the entry says the most telling of them. Events that
are bookkeeping for the customer (a payment row created, a reservation held) are not listed. An event type
the page has no sentence for says that the account was updated: never its type name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langganan.invoices.models import Invoice
from langganan.kit.locales import format_number
from langganan.web import declines
from langganan.web.i18n import Translator

# Not listed: what the customer would read as noise or as a repeat of another entry.
HIDDEN = frozenset({
    "payment.created", "payment.assigned", "subscription.created", "subscription.allotment_started",
    "subscription.period_started", "reservation.held", "reservation.captured", "reservation.released",
    "reservation.expired", "promotion.created",
})
# Which event of a group the entry says (first wins); types not listed come after these, in feed order.
PRIORITY = (
    "subscription.past_due", "payment.failed", "payment.reversed", "trial.ended", "subscription.renewal_paid",
    "subscription.free_period_given",
    "subscription.renewed", "subscription.upgraded", "subscription.downgraded", "subscription.canceled",
    "wallet.auto_top_up_started", "wallet.topped_up", "credit_note.issued", "invoice.paid",
    "payment.unapplied_applied", "payment.succeeded", "wallet.credit_granted", "wallet.grant_expired",
    "invoice.created",
)
PLAN_CHANGES = frozenset({"trial.ended", "subscription.upgraded", "subscription.renewed", "subscription.downgraded",
                          "subscription.canceled"})
CREDIT = frozenset({"wallet.credit_granted", "wallet.grant_expired"})
MAX_IDS = 50  # a "Mark read" form names at most this many rows of one entry


@dataclass(frozen=True)
class Row:
    """One feed row: the notification's id, read state and time, and its event's type and data."""

    id: str
    type: str
    at: datetime
    read: bool
    data: dict[str, Any]


def topic(row: Row) -> str:
    """What a row is about, for grouping the rows of one instant: an invoice, the plan, a wallet's free credit;
    anything else stands alone."""
    invoice_id = row.data.get("invoice_id")
    if isinstance(invoice_id, str) and invoice_id:
        return f"invoice:{invoice_id}"
    if row.type in PLAN_CHANGES:
        return "plan"
    if row.type in CREDIT:
        return f"credit:{row.data.get('wallet')}"
    return f"row:{row.id}"


def group(rows: Sequence[Row]) -> list[list[Row]]:
    """Rows (newest first) as entries: a run of consecutive rows about one topic at one instant is one entry
    (one change writes its events together: invoice.paid right after payment.succeeded); hidden types are
    left out and do not break a run."""
    out: list[list[Row]] = []
    last: tuple[datetime, str] | None = None
    for row in rows:
        if row.type in HIDDEN:
            continue
        key = (row.at, topic(row))
        if out and key == last:
            out[-1].append(row)
        else:
            out.append([row])
        last = key
    return out


def _rank(row: Row) -> int:
    return PRIORITY.index(row.type) if row.type in PRIORITY else len(PRIORITY)


def headline(rows: Sequence[Row]) -> Row:
    return min(rows, key=_rank)  # min keeps the first (newest) of equal rank


def page_of(rows: Sequence[Row], size: int, complete: bool) -> tuple[list[list[Row]], str | None] | None:
    """The first `size` entries of `rows` (newest first, as read) and the cursor after them (None: nothing
    older), so that no entry is split across pages; None when `rows` are too few to know that the last entry is
    whole (`complete`: `rows` reach the end of the feed; read more and ask again)."""
    groups = group(rows)
    if len(groups) > size:  # the next entry starts after the last one taken: that one is whole
        taken = groups[:size]
        return taken, taken[-1][-1].id
    if complete:
        return groups, None
    return None


@dataclass(frozen=True)
class Entry:
    ids: tuple[str, ...]  # the notification rows it stands for (marking it read marks them all)
    at: datetime
    text: str
    unread: bool


@dataclass
class Voice:
    """How the page writes: its catalog, money and dates, and the names the events refer to by code."""

    t: Translator
    money: Callable[[Any, Any], str]  # (amount, currency or None) -> "Rp15.000"
    date: Callable[[Any], str]  # a datetime or an ISO string -> "6 Jan 2027"
    plan_names: dict[str, str]
    add_on_names: dict[str, str]
    invoices: dict[str, Invoice]
    packages: dict[str, str]  # invoice id -> what it is for, in this language (views.package_labels)


def entry(rows: Sequence[Row], voice: Voice) -> Entry:
    head = headline(rows)
    return Entry(ids=tuple(r.id for r in rows)[:MAX_IDS], at=head.at, text=sentence(head, rows, voice),
                 unread=any(not r.read for r in rows))


def sentence(row: Row, rows: Sequence[Row], v: Voice) -> str:
    """The entry's sentence, said by its headline `row` with what the other rows of its group add."""
    t, d = v.t, row.data
    by_type = {r.type: r.data for r in rows}
    invoice = v.invoices.get(str(d.get("invoice_id") or ""))
    number = invoice.number if invoice is not None else str(d.get("number") or "")
    currency = d.get("currency") or (invoice.currency if invoice is not None else None)

    def plan(code: Any) -> str:
        return v.plan_names.get(str(code), str(code or ""))

    def wallet(kind: Any = None) -> str:
        key = f"wallet.{kind if kind is not None else d.get('wallet')}"
        return t(key) if t.has(key) else t("feed.a_balance")

    def amount(value: Any) -> str:
        return v.money(value, currency)

    def card() -> str:
        return t("feed.card", brand=str(d.get("brand") or "").title(), last4=d.get("last4") or "")

    def add_on() -> str:
        code = str(d.get("add_on") or "")
        return v.add_on_names.get(code, code)

    key = f"feed.{row.type}"
    kind = row.type
    if kind == "trial.ended":
        started = by_type.get("subscription.upgraded") or by_type.get("subscription.renewed")
        if d.get("converted") or started is not None:
            now_on = started or d
            return t("feed.trial.ended.converted", plan=plan(now_on.get("plan")),
                     end=v.date(now_on.get("current_period_end")))
        return t("feed.trial.ended.free")
    if kind == "subscription.past_due":
        failed = by_type.get("payment.failed", {})
        reason = declines.message(str(failed.get("failure_code") or ""), t.lang) if failed else None
        if d.get("method") == "card":
            return t("feed.subscription.past_due.card", plan=plan(d.get("plan")), number=number,
                     reason=(reason or t("error.payment_failed")).rstrip("."))
        return t("feed.subscription.past_due.transfer", plan=plan(d.get("plan")), number=number,
                 date=v.date(d.get("grace_ends_at")))
    if kind == "payment.failed":
        reason = declines.message(str(d.get("failure_code") or ""), t.lang) or t("error.payment_failed")
        return t(key, amount=amount(d.get("amount")), number=number, reason=reason.rstrip("."))
    if kind in ("payment.succeeded", "payment.reversed"):
        return t(key, amount=amount(d.get("reversed") if kind == "payment.reversed" else d.get("received")
                                    or d.get("amount")), number=number)
    if kind in ("invoice.created", "invoice.paid", "invoice.expired", "invoice.canceled", "invoice.failed"):
        return t(key, number=number, amount=amount(d.get("total")),
                 package=v.packages.get(invoice.id, "") if invoice is not None else "")
    if kind == "credit_note.issued":
        return t(key, number=number, original=d.get("original_number") or "", amount=amount(abs(d.get("total") or 0)))
    if kind == "wallet.credit_granted" and "wallet.grant_expired" in by_type:
        return t("feed.credit_renewed", wallet=wallet(), amount=amount(d.get("amount")),
                 date=v.date(d.get("expires_at")), expired=amount(by_type["wallet.grant_expired"].get("amount")))
    if kind == "wallet.credit_granted":
        return t(key, wallet=wallet(), amount=amount(d.get("amount")), date=v.date(d.get("expires_at")))
    if kind in ("wallet.grant_expired", "wallet.topped_up", "wallet.auto_top_up_started", "payment.unapplied",
                "payment.unapplied_refunded", "payment.unapplied_credited", "payment.unapplied_applied"):
        return t(key, wallet=wallet(), amount=amount(d.get("amount")), balance=amount(d.get("balance")),
                 number=number)
    if kind in ("wallet.low_balance", "wallet.depleted"):
        return t(key, wallet=wallet(), balance=amount(d.get("balance")), threshold=amount(d.get("threshold")))
    if kind == "wallet.auto_top_up_changed":
        if d.get("enabled"):
            return t("feed.wallet.auto_top_up_changed.on", wallet=wallet(), threshold=amount(d.get("threshold")),
                     target=amount(d.get("target")))
        return t("feed.wallet.auto_top_up_changed.off", wallet=wallet())
    if kind == "wallet.auto_top_up_paused":
        return t(key, wallet=wallet())
    if kind == "quota.threshold_reached":
        quota = f"quota.{d.get('quota')}"
        return t(key, used=_count(t, d.get("used")), limit=_count(t, d.get("limit")),
                 quota=t(quota) if t.has(quota) else t("feed.a_quota"), percent=_count(t, d.get("threshold")))
    if kind in ("payment_method.created", "payment_method.removed", "payment_method.default_changed"):
        return t(key, card=card())
    if kind == "payment_method.expiring":
        return t(key, card=card(), date=v.date(d.get("expires_at")))
    if kind == "subscription.auto_renew_changed":
        return t("feed.subscription.auto_renew_changed." + ("on" if d.get("auto_renew") else "off"))
    if kind in ("subscription.upgraded", "subscription.renewed"):
        return t(key, plan=plan(d.get("plan")), interval=t(f"package.{d.get('interval')}")
                 if t.has(f"package.{d.get('interval')}") else "", end=v.date(d.get("current_period_end")))
    if kind == "subscription.renewal_paid":
        return t(key, plan=plan(d.get("plan")), start=v.date(d.get("next_period_start")),
                 end=v.date(d.get("next_period_end")))
    if kind == "subscription.downgraded":
        reason = str(d.get("reason") or "")
        sub_key = f"feed.subscription.downgraded.{reason}"
        return t(sub_key if t.has(sub_key) else key, plan=plan(d.get("plan")))
    if kind == "subscription.free_period_given":
        return t(key, plan=plan(d.get("plan")), days=_count(t, d.get("days")), end=v.date(d.get("current_period_end")))
    if kind == "wallet.adjusted":
        raw = d.get("amount")
        moved = raw if isinstance(raw, int) else 0
        return t(f"{key}.{'added' if moved >= 0 else 'deducted'}", wallet=wallet(), amount=amount(abs(moved)),
                 balance=amount(d.get("balance")))
    if kind in ("subscription.cancel_scheduled", "subscription.downgrade_scheduled", "subscription.change_scheduled",
                "subscription.cancel_undone"):
        return t(key, plan=plan(d.get("plan")), new=plan(d.get("pending_plan")), date=v.date(d.get("applies_at")))
    if kind == "subscription.renewal_reminder":
        return t(key, plan=plan(d.get("plan")), date=v.date(d.get("period_end")), number=number,
                 amount=amount(d.get("total")))
    if kind in ("trial.started", "trial.extended", "trial.will_end"):
        variant = f"{key}.card" if kind == "trial.will_end" and d.get("converts") else key
        return t(variant, plan=plan(d.get("plan")), date=v.date(d.get("trial_end")))
    if kind in ("add_on.activated", "add_on.stop_scheduled", "add_on.ended"):
        return t(key, name=add_on(), n=_count(t, d.get("quantity")), date=v.date(d.get("ends_at")))
    if kind in ("promotion.redeemed", "promotion.ending", "promotion.ended"):
        off = f"{d['percent_off']}%" if d.get("percent_off") else amount(d.get("amount_off"))
        return t(key, code=d.get("code") or "", off=off, date=v.date(d.get("ends_at")), plan=plan(d.get("plan")))
    if kind == "account.migrated":
        return t(key, plan=d.get("plan_name") or plan(d.get("plan")), month=d.get("waived_month") or "",
                 date=v.date(d.get("period_end")))
    if t.has(key):
        return t(key)
    return t("feed.other")


def _count(t: Translator, value: Any) -> str:
    return format_number(value, t.lang) if isinstance(value, int) and not isinstance(value, bool) else ""


def rows_of(raw: Sequence[tuple[Any, dict[str, Any]]]) -> list[Row]:
    """Feed rows from (notification, event data) pairs (portal.repository.feed_rows)."""
    return [Row(id=n.id, type=n.type, at=n.created_at, read=n.read_at is not None, data=data) for n, data in raw]


UNREAD_READ_LIMIT = 500  # the unread count reads at most this many unread rows ("99+" long before)


def unread_entries(rows: Sequence[Row]) -> int:
    """How many entries the unread rows make (what the navigation's count says)."""
    return len(group(rows))
