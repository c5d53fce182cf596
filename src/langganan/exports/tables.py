"""What each CSV export holds: its columns and the query that reads its rows in pages (the audit log: its
repository's stream, oldest first).

Every export reads rows whose time lies in [since, until) in pages of PAGE rows ordered by a unique key
(keyset paging, one index range per page), so an export of any size streams with bounded memory: no
OFFSET, no list of every row. Amounts are integers in the currency's minor unit; times are UTC RFC 3339.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import QueryableAttribute

from langganan.audit import repository as audit_repo
from langganan.invoices.models import Invoice, InvoiceType
from langganan.kit.work import Work
from langganan.payments.models import Payment
from langganan.wallets.models import EntryType, Wallet, WalletEntry

PAGE = 2_000


class ExportKind(StrEnum):
    INVOICES = "invoices"
    PAYMENTS = "payments"
    CREDIT_NOTES = "credit-notes"
    LEDGER = "ledger"
    USAGE = "usage"
    AUDIT = "audit"


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    select: Callable[[], Select[*tuple[Any, ...]]]  # every column in `columns` order, then the paging key
    key: QueryableAttribute[Any]  # unique, the order of the export
    at: QueryableAttribute[Any]  # the time `since`/`until` bound


_INVOICE_COLUMNS = ("id", "number", "account_id", "type", "status", "currency", "subtotal", "discount", "tax",
                    "tax_rate_bps", "total", "issued_at", "paid_at", "period_start", "period_end",
                    "original_invoice_id")


def _invoices(credit_notes: bool) -> Callable[[], Select[*tuple[Any, ...]]]:
    def query() -> Select[*tuple[Any, ...]]:
        q = select(*(getattr(Invoice, c) for c in _INVOICE_COLUMNS), Invoice.id)
        return q.where(Invoice.type == InvoiceType.CREDIT_NOTE) if credit_notes else q
    return query


_PAYMENT_COLUMNS = ("id", "account_id", "invoice_id", "method", "provider", "status", "amount", "currency",
                    "provider_ref", "bank", "va_number", "reference", "failure_code", "created_at", "updated_at")
_LEDGER_COLUMNS = ("id", "account_id", "wallet", "type", "amount", "granted_amount", "balance_after", "meter",
                   "quantity", "reference", "created_at")
_USAGE_COLUMNS = ("event_id", "account_id", "wallet", "meter", "quantity", "amount", "granted_amount",
                  "occurred_at", "recorded_at")

TABLES: dict[ExportKind, Table] = {
    ExportKind.INVOICES: Table(_INVOICE_COLUMNS, _invoices(False), Invoice.id, Invoice.issued_at),
    ExportKind.CREDIT_NOTES: Table(_INVOICE_COLUMNS, _invoices(True), Invoice.id, Invoice.issued_at),
    ExportKind.PAYMENTS: Table(
        _PAYMENT_COLUMNS, lambda: select(*(getattr(Payment, c) for c in _PAYMENT_COLUMNS), Payment.id),
        Payment.id, Payment.created_at),
    ExportKind.LEDGER: Table(
        _LEDGER_COLUMNS,
        lambda: select(WalletEntry.id, Wallet.account_id, Wallet.kind, WalletEntry.type, WalletEntry.amount,
                       WalletEntry.granted_amount, WalletEntry.balance_after, WalletEntry.meter,
                       WalletEntry.quantity, WalletEntry.reference, WalletEntry.created_at, WalletEntry.id)
        .join(Wallet, Wallet.id == WalletEntry.wallet_id),
        WalletEntry.id, WalletEntry.created_at),
    ExportKind.USAGE: Table(
        _USAGE_COLUMNS,
        # a usage debit is the accepted event (rule 7): its amount is debited, so it is written positive here
        lambda: select(WalletEntry.reference, Wallet.account_id, Wallet.kind, WalletEntry.meter,
                       WalletEntry.quantity, -WalletEntry.amount, -WalletEntry.granted_amount,
                       WalletEntry.occurred_at, WalletEntry.created_at, WalletEntry.id)
        .join(Wallet, Wallet.id == WalletEntry.wallet_id).where(WalletEntry.type == EntryType.USAGE),
        WalletEntry.id, WalletEntry.created_at),
}


AUDIT_COLUMNS = ("id", "at", "actor_kind", "actor_id", "actor_label", "action", "target_type", "target_id",
                 "account_id", "reason", "before", "after")


def columns(kind: ExportKind) -> tuple[str, ...]:
    return AUDIT_COLUMNS if kind == ExportKind.AUDIT else TABLES[kind].columns


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _audit_rows(session: Work, since: datetime | None, until: datetime | None) -> Iterator[Sequence[Any]]:
    for e in audit_repo.stream(session, since=since, until=until):
        yield (e.id, e.at, e.actor_kind, e.actor_id, e.actor_label, e.action, e.target_type, e.target_id,
               e.account_id, e.reason, _json(e.before), _json(e.after))


def rows(session: Work, kind: ExportKind, since: datetime | None, until: datetime | None) -> Iterator[Sequence[Any]]:
    """The export's rows (without the paging key), page by page, in key order."""
    if kind == ExportKind.AUDIT:
        yield from _audit_rows(session, since, until)
        return
    table = TABLES[kind]
    after: Any = None
    while True:
        q = table.select()
        if since is not None:
            q = q.where(table.at >= since)
        if until is not None:
            q = q.where(table.at < until)
        if after is not None:
            q = q.where(table.key > after)
        page = session.execute(q.order_by(table.key).limit(PAGE)).all()
        for row in page:
            yield tuple(row)[:-1]
        if len(page) < PAGE:
            return
        after = tuple(page[-1])[-1]
