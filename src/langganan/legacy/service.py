"""Importing legacy postpaid subscribers (DESIGN: Migration; issue 4).

Each row is its own savepoint: a bad row is reported with its line and reason and rolls back alone.
A row moves one subscriber to prepaid billing: the account (external_id = the legacy account key),
its last postpaid month waived (a zero invoice, status `waived`, numbered in the month's sequence),
the plan for the running billing cycle up to the next enrollment anniversary with its included
credit, and `account.migrated`. The renewal invoice for that anniversary is the due runner's work
like any other bank-transfer renewal. A `legacy_imports` record per key makes a re-run of the same
row `unchanged` and a different row for a migrated key a `conflict`, never applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from langganan.accounts import repository as accounts_repo
from langganan.accounts import service as accounts
from langganan.accounts.models import Account
from langganan.catalog import service as catalog_service
from langganan.catalog.rules import Plan
from langganan.config import Settings
from langganan.events import service as events
from langganan.invoices import service as invoices
from langganan.invoices.actions import LegacyWaiverAction
from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.invoices.rules import Line
from langganan.kit.errors import DomainError
from langganan.kit.work import Work
from langganan.legacy import rules
from langganan.legacy.models import LegacyImport
from langganan.legacy.rules import LegacyRow, RowInvalid
from langganan.onboarding import service as onboarding
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.rules import plan_label


@dataclass
class RowResult:
    line: int
    account_key: str | None
    status: str  # imported | unchanged | conflict | failed
    code: str | None = None
    message: str | None = None
    param: str | None = None
    account_id: str | None = None
    invoice_id: str | None = None
    invoice_number: str | None = None
    period_end: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("imported", "unchanged")


def import_row(session: Work, settings: Settings, line: int, raw: Mapping[str, str | None],
               now: datetime) -> RowResult:
    """Import one row in its own savepoint; whatever goes wrong is the row's result, not an exception."""
    key = (raw.get("account_key") or "").strip() or None
    try:
        with session.begin_nested():
            return _import(session, settings, line, rules.parse_row(raw), now)
    except RowInvalid as exc:
        return RowResult(line, key, "failed", exc.code, exc.message, exc.param)
    except DomainError as exc:
        return RowResult(line, key, "failed", exc.code, exc.message, exc.param)
    except IntegrityError:
        return RowResult(line, key, "failed", "concurrent_import",
                         "Another import wrote this account at the same moment; run the import again.")


def _import(session: Work, settings: Settings, line: int, row: LegacyRow, now: datetime) -> RowResult:
    done = session.get(LegacyImport, row.account_key)
    if done is not None:
        return _already_imported(session, line, row, done)
    plan = _plan(session, row)
    rules.check_dates(row, now)
    if accounts_repo.by_external_id(session, row.account_key) is not None:
        raise RowInvalid("external_id_taken", f"An account with external_id {row.account_key!r} exists and was "
                         "not created by a legacy import; it is left as it is.", param="account_key")
    account = onboarding.create(session, accounts.NewAccount(
        name=row.name, email=row.email, external_id=row.account_key, locale=row.locale, timezone=row.timezone),
        now)
    start, end = rules.anniversary_period(row.enrolled_on, row.interval, row.timezone, now)
    sub = subs_repo.for_account(session, account.id, for_update=True)
    waived = _waive(session, settings, row, plan, sub.id, account, now)
    subscriptions.start_migrated(session, sub, account, plan, row.interval, anchor_day=row.anchor_day,
                                 start=start, end=end,
                                 allotment_from=rules.allotment_start(start, row.anchor_day, row.timezone, now),
                                 waived_invoice_id=waived.id, now=now)
    session.add(LegacyImport(account_key=row.account_key, account_id=account.id, fingerprint=row.fingerprint(),
                             row=row.as_dict(), waived_invoice_id=waived.id, imported_at=now))
    session.flush()
    events.emit(session, "account.migrated", account.id, {
        "account_key": row.account_key, "subscription_id": sub.id, "plan": plan.code, "plan_name": plan.name,
        "interval": row.interval, "enrolled_on": row.enrolled_on.isoformat(),
        "period_start": start.isoformat(), "period_end": end.isoformat(),
        "waived_month": row.last_unpaid_month, "invoice_id": waived.id, "invoice_number": waived.number}, now)
    return RowResult(line, row.account_key, "imported", account_id=account.id, invoice_id=waived.id,
                     invoice_number=waived.number, period_end=end)


def _already_imported(session: Work, line: int, row: LegacyRow, done: LegacyImport) -> RowResult:
    sub = subs_repo.for_account(session, done.account_id)
    waived = session.get(Invoice, done.waived_invoice_id)
    found = RowResult(line, row.account_key, "unchanged", account_id=done.account_id,
                      invoice_id=done.waived_invoice_id, invoice_number=waived.number if waived else None,
                      period_end=sub.current_period_end)
    if done.fingerprint == row.fingerprint():
        return found
    changed = rules.changed_fields(done.row, row.as_dict())
    found.status, found.code, found.param = "conflict", "already_migrated", changed[0] if changed else None
    found.message = (f"Account {row.account_key!r} was migrated on {done.imported_at.date().isoformat()} with "
                     f"other values ({', '.join(changed)}); the row is not applied.")
    return found


def _plan(session: Work, row: LegacyRow) -> Plan:
    catalog = catalog_service.current(session)
    plan = catalog.plans.get(row.plan)
    if plan is None:
        raise RowInvalid("unknown_plan", f"There is no plan {row.plan!r}; the plans are "
                         f"{', '.join(p.code for p in catalog.plans_by_rank())}.", param="plan")
    if plan.code == catalog.default_plan:
        raise RowInvalid("plan_not_paid", f"{plan.name} is free; a postpaid subscriber moves to a paid plan.",
                         param="plan")
    return plan


def _waive(session: Work, settings: Settings, row: LegacyRow, plan: Plan, subscription_id: str,
           account: Account, now: datetime) -> Invoice:
    """The last postpaid month, forgiven: a zero invoice marked waived (DESIGN rule 12)."""
    year, month = row.unpaid_month
    month_start, month_end = rules.month_bounds(year, month, row.timezone)
    label = plan_label(plan, row.interval)
    line = Line("waiver", f"{label}, postpaid {rules.month_label(year, month)}: waived for the move to "
                "prepaid billing", 1, 0, 0, month_start, month_end)
    return invoices.issue(session, settings, account=account, type_=InvoiceType.SUBSCRIPTION, lines=[line],
                          action=LegacyWaiverAction(account_key=row.account_key, month=row.last_unpaid_month),
                          now=now, expires_at=None, subscription_id=subscription_id, package=label,
                          period_start=month_start, period_end=month_end, status=InvoiceStatus.WAIVED)
