"""What an email carries besides its text: the PDF of the invoice it is about, rendered when the email is
sent from the invoice as it is then (an issued invoice's lines, buyer and seller never change; its status
does, and the PDF says so), with the account's language and zone: byte for byte the PDF that
GET /v1/invoices/{id}/pdf answers at that moment. Nothing of it is stored in the outbox row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langganan.accounts.models import Account
from langganan.invoices.models import Invoice
from langganan.kit.work import Work
from langganan.notifications.mailer import Attachment
from langganan.notifications.messages import pdf_filename
from langganan.payments.schemas import pdf_data

PDF = "application/pdf"


@dataclass(frozen=True)
class InvoicePdf:
    """What the PDF of one invoice is drawn from, read in a transaction and drawn after it ends."""

    filename: str
    data: dict[str, Any]
    locale: str
    timezone: str

    def render(self) -> Attachment:
        from langganan.invoices.pdf import render_invoice_pdf  # fpdf2 loads only when a PDF is drawn

        return Attachment(self.filename, PDF, render_invoice_pdf(self.data, locale=self.locale,
                                                                 timezone=self.timezone))


def invoice_pdf(session: Work, invoice_id: str) -> InvoicePdf | None:
    invoice = session.get(Invoice, invoice_id)
    account = session.get(Account, invoice.account_id) if invoice is not None else None
    if invoice is None or account is None:
        return None
    return InvoicePdf(pdf_filename(invoice.number), pdf_data(session, invoice), account.locale, account.timezone)
