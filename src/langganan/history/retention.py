"""The retention rules: which tables lose rows, after which setting, and why; which are kept forever, and why;
and the calendar-month arithmetic they use (UTC months: partitions and archive files are per UTC month).

A retention of N months keeps this month and the N whole months before it: at 2026-12-06 with N = 3 the cutoff is
2026-09-01, and what is older is archived. 0 keeps forever. `now` is wall time (rule 14: history is transport).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from langganan.config import Settings


@dataclass(frozen=True)
class Rule:
    table: str
    setting: str  # the Settings field holding its months (LANGGANAN_ and it in capitals)
    reason: str  # why rows of this table may go


# In the order archive takes them: a delivery goes only once its attempts have (a foreign key refers to it).
RULES = (
    Rule("delivery_attempts", "retention_delivery_months",
         "every send of a webhook or email, kept to debug deliveries; the delivery row keeps its count and last "
         "error. On PostgreSQL monthly partitions, dropped whole"),
    Rule("deliveries", "retention_delivery_months",
         "a finished (succeeded, failed or canceled) webhook or email, with no attempt from the cutoff on; pending "
         "ones stay, and the event it was made from stays, so it is never fanned out again"),
    Rule("notifications", "retention_notification_months",
         "the in-app feed: old items are read or stale (a reminder's dedupe key is about one invoice, trial or "
         "period, long over by then)"),
    Rule("login_attempts", "retention_login_months",
         "console sign-in throttling reads the last hour only"),
    Rule("web_sessions", "retention_session_months",
         "a session past its expiry never signs anyone in again (counted from expires_at)"),
)

# Tables never deleted from, and why; `langganan archive --export-kept` exports them by month.
KEPT = {
    "wallet_entries": "the ledger: a usage event is its debit, and its unique usage id (rule 7) refuses a repeat; "
                      "books are kept 10 years (UU KUP art. 28 (11))",
    "invoices": "issued invoices and credit notes: books kept 10 years",
    "invoice_lines": "the invoices' lines: books kept 10 years",
    "payments": "money received or charged: books kept 10 years",
    "audit_entries": "who changed what: the audit log",
    "events": "`langganan verify` counts each invoice's, payment's and period's events; deliveries and "
              "notifications refer to them",
}

MONTH = re.compile(r"(\d{4})-(\d{2})")


def month_start(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def add_months(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def months(first: datetime, end: datetime) -> list[datetime]:
    """The month starts from `first`'s month up to (not including) `end`'s."""
    out, month = [], month_start(first)
    while month < end:
        out.append(month)
        month = add_months(month, 1)
    return out


def label(month: datetime) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(text: str) -> datetime:
    """'2026-09' -> 2026-09-01T00:00Z; a ValueError for anything else."""
    found = MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    return datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=UTC)


def cutoff(settings: Settings, rule: Rule, now: datetime, before: datetime | None = None) -> datetime | None:
    """Rows of `rule`'s table placed before this instant go; None: the table is kept forever (its setting is 0).
    `before` (archive --before) can only move the cutoff earlier, never past what the setting allows."""
    kept_months = int(getattr(settings, rule.setting))
    if kept_months == 0:
        return None
    end = add_months(month_start(now), -kept_months)
    return min(end, before) if before is not None else end
