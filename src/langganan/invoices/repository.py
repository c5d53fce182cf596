from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import func, or_, select
from sqlalchemy.orm import lazyload

from langganan.invoices.models import Invoice, InvoiceStatus, InvoiceType
from langganan.kit.errors import NotFound
from langganan.kit.pagination import page
from langganan.kit.work import Question, Work

OPEN_PURCHASE_TYPES = (InvoiceType.SUBSCRIPTION, InvoiceType.PLAN_CHANGE)


def get(session: Work, invoice_id: str, *, for_update: bool = False) -> Invoice:
    own = session.held(Invoice, invoice_id) if for_update else None
    if own is not None:  # issued or locked earlier in this transaction: no second round trip
        return cast(Invoice, own)
    invoice = session.get(Invoice, invoice_id, with_for_update=for_update or None)
    if invoice is None:
        raise NotFound("invoice", invoice_id)
    return invoice


def id_by_number(session: Work, number: str) -> str | None:
    return session.scalar(select(Invoice.id).where(Invoice.number == number))


def list_invoices(session: Work, *, account_id: str | None, status: str | None, type_: str | None,
                  limit: int, starting_after: str | None,
                  with_lines: bool = True) -> tuple[Sequence[Invoice], bool]:
    """Newest first. Without `with_lines` the lines are loaded only if read (a table that does not show them)."""
    stmt = select(Invoice) if with_lines else select(Invoice).options(lazyload(Invoice.lines))
    if account_id:
        stmt = stmt.where(Invoice.account_id == account_id)
    if status:
        stmt = stmt.where(Invoice.status == status)
    if type_:
        stmt = stmt.where(Invoice.type == type_)
    return page(session, stmt, Invoice.id, limit, starting_after)


def open_purchases(session: Work, subscription_id: str) -> Sequence[Invoice]:
    return session.scalars(select(Invoice).where(
        Invoice.subscription_id == subscription_id, Invoice.status == InvoiceStatus.UNPAID,
        Invoice.type.in_(OPEN_PURCHASE_TYPES)).with_for_update()).all()


RENEWALS: Question[tuple[str, datetime], Invoice | None] = Question("renewal invoice of (subscription, period start)")
REPLACEABLE = InvoiceStatus.CANCELED  # the one renewal status that lets a period have another renewal invoice


def renewal_for(session: Work, subscription_id: str, period_start: datetime) -> Invoice | None:
    """The renewal invoice of a period (unpaid, paid, expired or failed), if any: at most one, rule 4;
    only a canceled one may be replaced. Answered without a query when this transaction read it
    ahead (`read_renewals_ahead`) or issued it."""
    known = session.answers(RENEWALS)
    key = (subscription_id, period_start)
    if known is None:
        return session.scalar(select(Invoice).where(
            Invoice.subscription_id == subscription_id, Invoice.type == InvoiceType.RENEWAL,
            Invoice.period_start == period_start, Invoice.status != REPLACEABLE))
    if key not in known:
        known[key] = renewals_for(session, [key]).get(key)
    invoice = known[key]
    if invoice is None or invoice not in session:  # (not in it: issued in a savepoint that rolled back)
        return None
    return None if invoice.status == REPLACEABLE else invoice


def read_renewals_ahead(session: Work, periods: Collection[tuple[str, datetime]]) -> None:
    """Look up the renewal invoices of many (subscription, period start) pairs in one query and answer
    `renewal_for` from memory for the rest of the transaction. Only for subscriptions this transaction
    holds locked: a renewal invoice is issued under its subscription's lock, and `note_renewal` adds it."""
    found = renewals_for(session, periods)
    session.keep(found.values())
    session.read_ahead(RENEWALS).update({key: found.get(key) for key in periods})


def note_renewal(session: Work, invoice: Invoice) -> None:
    known = session.answers(RENEWALS)
    if known is not None and invoice.subscription_id is not None and invoice.period_start is not None:
        known[(invoice.subscription_id, invoice.period_start)] = invoice


def renewals_for(session: Work, periods: Collection[tuple[str, datetime]]) -> dict[tuple[str, datetime], Invoice]:
    """`renewal_for` of many (subscription, period start) pairs in one query."""
    wanted = set(periods)
    if not wanted:
        return {}
    # The status is checked here, not in SQL: a condition on it can lead the planner to the status
    # index (every open invoice) when its statistics lag behind a burst of new invoices.
    found = session.scalars(select(Invoice).where(
        Invoice.subscription_id.in_({sub_id for sub_id, _ in wanted}),
        Invoice.period_start.in_({start for _, start in wanted}), Invoice.type == InvoiceType.RENEWAL))
    return {key: inv for inv in found if inv.status != REPLACEABLE and inv.subscription_id is not None
            and inv.period_start is not None and (key := (inv.subscription_id, inv.period_start)) in wanted}


def count_by_status(session: Work) -> list[tuple[str, int]]:
    rows = session.execute(select(Invoice.status, func.count()).group_by(Invoice.status).order_by(Invoice.status))
    return [(status, int(count)) for status, count in rows]


def lock_many(session: Work, invoice_ids: Sequence[str]) -> Sequence[Invoice]:
    """These invoices without their lines, locked in id order."""
    return session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)).order_by(Invoice.id)
                           .options(lazyload(Invoice.lines)).with_for_update()).all()


def search(session: Work, *, status: str | None, type_: str | None, q: str, limit: int,
           starting_after: str | None) -> tuple[Sequence[Invoice], bool]:
    """Invoices without their lines, of this status and type when given, numbered `q` or of the account or with
    the id `q` when it is not blank."""
    stmt = select(Invoice).options(lazyload(Invoice.lines))  # the table shows no lines
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if type_ is not None:
        stmt = stmt.where(Invoice.type == type_)
    if q.strip():
        stmt = stmt.where(or_(Invoice.number == q.strip(), Invoice.account_id == q.strip(),
                              Invoice.id == q.strip()))
    return page(session, stmt, Invoice.id, limit, starting_after)


def credit_notes_of(session: Work, invoice_id: str) -> Sequence[Invoice]:
    """The credit notes issued for an invoice, oldest first."""
    return session.scalars(select(Invoice).where(Invoice.original_invoice_id == invoice_id,
                                                 Invoice.type == InvoiceType.CREDIT_NOTE).order_by(Invoice.id)).all()
