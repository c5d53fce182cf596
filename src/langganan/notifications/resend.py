"""Sending an invoice's email again (an operator's action in the console): the email its `invoice.created`
event made at fan-out is queued once more, as it was written (subject, text and whatever else the
delivery carries), to the account's billing contact. A new delivery of the same event, so the sent
one keeps its attempts and the outbox viewer lists both; the courier sends it like any other."""

from __future__ import annotations

from datetime import datetime

from langganan.accounts.models import Account
from langganan.events import repository as events_repo
from langganan.invoices.models import Invoice, InvoiceStatus
from langganan.kit.errors import Conflict
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.notifications import repository
from langganan.notifications.models import Delivery, DeliveryStatus

# what the customer can still act on or keep: an invoice to pay, a paid one, a waived month
RESENDABLE = (InvoiceStatus.UNPAID, InvoiceStatus.PAID, InvoiceStatus.WAIVED)
# the delivery's own columns, set afresh; every other column is copied from the email that was sent
FRESH = frozenset({"id", "target", "recipient", "status", "attempts", "next_attempt_at", "last_error",
                   "created_at", "updated_at", "delivered_at"})


def billing_contact(account: Account) -> str:
    """Where invoices go: the billing information's email, else the account owner's."""
    return account.billing_email or account.email


def resend_invoice_email(session: Work, account: Account, invoice: Invoice, wall: datetime) -> Delivery:
    """Queue the invoice's email again to the billing contact; `wall` is wall time (deliveries run on it,
    rule 14). Refused when the invoice was canceled, expired or failed (its email asks for a payment that
    can no longer be made) or when its email has not been written yet (it is on its way)."""
    if invoice.account_id != account.id:
        raise Conflict("invoice_not_of_account", f"Invoice {invoice.number} belongs to another account.",
                       param="invoice")
    if invoice.status not in RESENDABLE:
        raise Conflict("invoice_not_resendable", f"Invoice {invoice.number} is {invoice.status}; its email asks "
                       "for a payment that can no longer be made.", param="invoice")
    event = events_repo.about_invoice(session, account.id, "invoice.created", invoice.id)
    sent = repository.email_of(session, event.id) if event is not None else None
    if sent is None:
        raise Conflict("invoice_email_pending", f"The email of invoice {invoice.number} has not been written yet; "
                       "it goes out within a minute.", param="invoice")
    copy = {column.key: getattr(sent, column.key) for column in Delivery.__table__.columns
            if column.key not in FRESH}
    delivery_id = new_id("dlv")
    delivery = Delivery(id=delivery_id, target=f"resend:{delivery_id}", recipient=billing_contact(account),
                        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=wall, created_at=wall,
                        updated_at=wall, **copy)
    session.add(delivery)
    session.flush()
    return delivery
