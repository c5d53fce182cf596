"""Credit notes and refunds (issue 15) over HTTP on SQLite and PostgreSQL: full and partial credit notes of a
taxed invoice (numbers worked by hand), numbered in the month's sequence, printed; the money back through the
sandbox gateway (claimed first, the credit note's id as idempotency key), to a wallet or by hand; a top-up gives
back only unspent paid credit; what may not be credited; the books balance after each step."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from langganan.accounts.models import Account
from langganan.apikeys import service as apikeys
from langganan.app import create_app, prepare
from langganan.events.models import Event
from langganan.kit.db import Database
from langganan.notifications import messages
from langganan.payments.gateway import GatewayUnavailable, RefundResult
from langganan.payments.sandbox import SandboxGateway
from tests.conftest import ADMIN_KEY, Env, make_settings

TAXED = {"tax_rate_subscription": 12, "tax_base_subscription": "11/12"}


@pytest.fixture
def taxed(database: Database) -> Iterator[Env]:
    settings = make_settings(database, **TAXED)
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def credit(env: Env, invoice_id: str, **body: Any) -> Any:
    return env.post(f"/v1/invoices/{invoice_id}/credit-notes", {"reason": "customer asked", **body})


def figures(inv: dict[str, Any]) -> tuple[int, int, int, int]:
    return inv["subtotal"] - inv["discount"], inv["tax_base"], inv["tax"], inv["total"]


def pdf_text(env: Env, invoice_id: str) -> str:
    res = env.get(f"/v1/invoices/{invoice_id}/pdf")
    assert res.status_code == 200
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(res.content)).pages)


def test_partial_credit_notes_reverse_dpp_and_ppn_in_proportion_and_add_up_to_the_invoice(taxed: Env) -> None:
    env = taxed
    acc = env.account()
    growth = env.buy(acc["id"], "growth")
    # Growth Rp499.000, PPN 12% on DPP 11/12: DPP ⌊457.416,67⌋ = 457.416, PPN ⌊54.889,92⌋ = 54.889, total 553.889
    assert figures(growth) == (499_000, 457_416, 54_889, 553_889)
    assert growth["number"] == "INV/2026/01/00001"

    # 1) Rp200.000 back by bank transfer. DPP ⌊457.416 × 200.000 / 553.889⌋ = ⌊165.165,3⌋ = 165.165;
    #    PPN ⌊54.889 × 200.000 / 553.889⌋ = ⌊19.819,4⌋ = 19.819; price 200.000 − 19.819 = 180.181.
    res = credit(env, growth["id"], amount=200_000, refund_to="manual", reference="TRF-0001")
    first = env.ok(res, 201)
    assert (first["type"], first["status"], first["refers_to"]) == ("credit_note", "paid", growth["id"])
    assert first["original_invoice_id"] == growth["id"] and first["number"] == "INV/2026/01/00002"
    assert figures(first) == (-180_181, -165_165, -19_819, -200_000)
    assert [(ln["kind"], ln["amount"]) for ln in first["lines"]] == [("credit", -180_181)]
    assert first["lines"][0]["description"] == "Credit on INV/2026/01/00001: customer asked"
    assert first["tax_rate_bps"] == 1200
    env.assert_books()

    # 2) Rp150.000 as conversation credit. Over everything credited (350.000): DPP ⌊457.416 × 350.000 / 553.889⌋
    #    = ⌊289.039,3⌋ = 289.039, less 165.165 = 123.874; PPN ⌊54.889 × 350.000 / 553.889⌋ = ⌊34.684,0⌋ = 34.684,
    #    less 19.819 = 14.865; price 150.000 − 14.865 = 135.135.
    before = env.wallet(acc["id"])["balance"]
    second = env.ok(credit(env, growth["id"], amount=150_000, refund_to="wallet"), 201)
    assert figures(second) == (-135_135, -123_874, -14_865, -150_000)
    assert env.wallet(acc["id"])["balance"] == before + 150_000
    env.assert_books()

    # More than is left (553.889 − 350.000 = 203.889) is refused; so is nothing.
    over = credit(env, growth["id"], amount=203_890, refund_to="manual", reference="TRF-2")
    assert over.status_code == 409 and over.json()["error"]["code"] == "credit_exceeds_invoice"
    zero = credit(env, growth["id"], amount=0, refund_to="manual", reference="TRF-2")
    assert zero.status_code == 422

    # 3) The rest (no amount) through the sandbox gateway: exactly what is left of each figure:
    #    total 203.889, DPP 457.416 − 289.039 = 168.377, PPN 54.889 − 34.684 = 20.205, price 203.889 − 20.205.
    third = env.ok(credit(env, growth["id"], refund_to="gateway"), 201)
    assert figures(third) == (-183_684, -168_377, -20_205, -203_889)
    assert 180_181 + 135_135 + 183_684 == 499_000  # the prices add up to the original's
    done = credit(env, growth["id"], refund_to="manual", reference="TRF-3")
    assert done.status_code == 409 and done.json()["error"]["code"] == "invoice_fully_credited"

    # Numbered in the month's one sequence; the original stays paid and the plan stays (cancel separately).
    notes = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=credit_note"))["data"]
    assert sorted(n["number"] for n in notes) == ["INV/2026/01/00002", "INV/2026/01/00003", "INV/2026/01/00004"]
    assert env.ok(env.get(f"/v1/invoices/{growth['id']}"))["status"] == "paid"
    assert env.subscription(acc["id"])["plan"] == "growth"
    assert env.event_types(acc["id"]).count("credit_note.issued") == 3
    assert env.event_types(acc["id"])[-1] == "credit_note.issued"  # not invoice.created / invoice.paid
    env.assert_books()


def test_a_full_credit_note_negates_the_lines_and_prints_as_a_credit_note(taxed: Env) -> None:
    env = taxed
    acc = env.account()
    growth = env.buy(acc["id"], "growth")
    note = env.ok(credit(env, growth["id"], refund_to="gateway"), 201)
    assert figures(note) == (-499_000, -457_416, -54_889, -553_889)
    assert [(ln["description"], ln["amount"]) for ln in note["lines"]] == \
        [(ln["description"], -ln["amount"]) for ln in growth["lines"]]
    text = pdf_text(env, note["id"])  # the account's locale: Indonesian by default
    assert "NOTA KREDIT" in text and note["number"] in text
    assert f"Atas invoice {growth['number']}" in text
    assert "-Rp553.889" in text and "-Rp54.889" in text and "-Rp457.416" in text
    assert "LUNAS" not in text  # settled, not paid: no stamp, no payment instructions
    env.assert_books()


def test_credit_note_pdf_in_english(taxed: Env) -> None:
    env = taxed
    acc = env.account(locale="en")
    growth = env.buy(acc["id"], "growth")
    note = env.ok(credit(env, growth["id"], amount=100_000, refund_to="manual", reference="TRF-9"), 201)
    text = pdf_text(env, note["id"])
    assert "CREDIT NOTE" in text and f"For invoice {growth['number']}" in text and "-Rp100,000" in text
    assert "Settled" in text


def test_what_may_not_be_credited(env: Env) -> None:
    acc = env.account()
    unpaid = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    res = credit(env, unpaid["id"], refund_to="manual", reference="X-1")
    assert res.status_code == 409 and res.json()["error"]["code"] == "invoice_not_paid"
    env.ok(env.post(f"/v1/invoices/{unpaid['id']}/cancel"))  # an unpaid invoice is canceled instead
    paid = env.buy(acc["id"], "growth")
    res = credit(env, paid["id"], refund_to="manual")
    assert res.status_code == 422 and res.json()["error"]["code"] == "reference_required"
    res = credit(env, paid["id"], refund_to="cash")
    assert res.status_code == 422
    note = env.ok(credit(env, paid["id"], amount=1_000, refund_to="manual", reference="X-2"), 201)
    res = credit(env, note["id"], refund_to="manual", reference="X-3")
    assert res.status_code == 409 and res.json()["error"]["code"] == "credit_note_of_credit_note"
    with env.db.transaction() as s:
        _, token = apikeys.create(s, role="integration", name="app", now=datetime.now(UTC))
    res = env.post(f"/v1/invoices/{paid['id']}/credit-notes", {"reason": "nope", "refund_to": "manual",
                                                                "reference": "X"},
                   headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 403
    # Paid by an operator's word, not through the gateway: no gateway refund.
    other = env.account()
    by_hand = env.ok(env.post(f"/v1/accounts/{other['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    env.ok(env.post(f"/v1/invoices/{by_hand['id']}/mark-paid", {"reference": "BCA-1"}))
    res = credit(env, by_hand["id"], refund_to="gateway")
    assert res.status_code == 409 and res.json()["error"]["code"] == "refund_not_through_gateway"
    env.assert_books()


def test_a_top_up_refunds_only_unspent_paid_credit(env: Env) -> None:
    acc = env.account()
    top_up = env.top_up(acc["id"], "conversation", 100_000)
    wallet = env.wallet(acc["id"])
    granted = wallet["granted_balance"]
    assert wallet["balance"] == granted + 100_000
    # Spend the granted credit and Rp30.000 of the paid credit (granted first, rule 6): 70.000 paid left.
    quantity = (granted + 30_000) // 30
    env.ok(env.post("/v1/usage", {"id": "evt-spend-1", "account_id": acc["id"], "meter": "conversation_reply",
                                  "quantity": quantity}), 201)
    assert env.wallet(acc["id"])["balance"] - env.wallet(acc["id"])["granted_balance"] == 70_000
    res = credit(env, top_up["id"], refund_to="manual", reference="TRF-T1")  # all 100.000: too much
    assert res.status_code == 422 and res.json()["error"]["code"] == "refund_exceeds_unspent_credit"
    res = credit(env, top_up["id"], refund_to="wallet")
    assert res.status_code == 409 and res.json()["error"]["code"] == "refund_to_wallet_of_top_up"
    note = env.ok(credit(env, top_up["id"], amount=70_000, refund_to="gateway"), 201)
    assert note["total"] == -70_000
    wallet = env.wallet(acc["id"])
    assert wallet["balance"] - wallet["granted_balance"] == 0
    entries = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/transactions"))["data"]
    assert any(e["amount"] == -70_000 and e["reference"] == note["id"] for e in entries)
    env.assert_books()


class FlakyRefunds(SandboxGateway):
    """The sandbox gateway whose refund call does not answer first, then answers (the same refund, for the
    same key), and refuses refunds of a chosen amount."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.calls: list[str] = []
        self.down = 1
        self.refuse_amount = -1

    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        self.calls.append(idempotency_key)
        if amount == self.refuse_amount:
            return RefundResult(False, "rf_x", failure_code="refund_not_allowed", failure_message="Too late.")
        if self.down:
            self.down -= 1
            raise GatewayUnavailable()
        return super().refund(reference=reference, provider_ref=provider_ref, amount=amount, currency=currency,
                              idempotency_key=idempotency_key, reason=reason)


def test_a_gateway_that_does_not_answer_then_refuses_wastes_no_number_and_refunds_once(database: Database) -> None:
    settings = make_settings(database)
    prepare(settings, database, migrate_if_empty=False)
    gateway = FlakyRefunds("test-secret")
    with TestClient(create_app(settings, database, gateway=gateway)) as client:
        env = Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        acc = env.account()
        growth = env.buy(acc["id"], "growth")
        down = credit(env, growth["id"], amount=100_000, refund_to="gateway")
        assert down.status_code == 503 and down.json()["error"]["code"] == "gateway_unavailable"
        assert env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=credit_note"))["data"] == []
        other = credit(env, growth["id"], amount=5_000, refund_to="manual", reference="T")
        assert other.status_code == 409 and other.json()["error"]["code"] == "credit_note_in_progress"
        env.assert_books()
        note = env.ok(credit(env, growth["id"], amount=100_000, refund_to="gateway"), 201)  # the same request again
        assert gateway.calls == [note["id"], note["id"]]  # one key, the credit note's id: one refund
        assert note["number"] == "INV/2026/01/00002"
        gateway.refuse_amount = 50_000
        refused = credit(env, growth["id"], amount=50_000, refund_to="gateway")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "refund_refused"
        after = env.ok(credit(env, growth["id"], amount=50_000, refund_to="manual", reference="TRF-7"), 201)
        assert after["number"] == "INV/2026/01/00003"  # the refused one took no number
        env.assert_books()


def test_credit_note_emails_in_both_languages(env: Env) -> None:
    for locale, subject, phrase in (
            ("en", "Credit note INV/2026/01/00002 for invoice INV/2026/01/00001",
             "Rp499,000 was added to your conversation balance"),
            ("id", "Nota kredit INV/2026/01/00004 atas invoice INV/2026/01/00003",
             "Rp499.000 telah ditambahkan ke saldo percakapan Anda")):
        acc = env.account(locale=locale)
        growth = env.buy(acc["id"], "growth")
        note = env.ok(credit(env, growth["id"], refund_to="wallet"), 201)
        with env.db.transaction() as s:
            event = s.scalars(select(Event).where(Event.type == "credit_note.issued",
                                                  Event.account_id == acc["id"])).one()
            message = messages.message_for(s, event, s.get(Account, acc["id"]))  # type: ignore[arg-type]
        assert message.subject == subject, message.subject
        assert phrase in message.summary and message.email is not None and note["number"] in message.email
    env.assert_books()


def test_the_console_invoice_page_issues_a_credit_note(env: Env) -> None:
    from tests.api.test_console_statements import ops

    acc = env.account()
    growth = env.buy(acc["id"], "growth")
    client, csrf = ops(env)
    page = client.get(f"/console/invoices/{growth['id']}")
    assert page.status_code == 200 and "Issue credit note" in page.text and "Rp499,000" in page.text
    assert 'href="/console/invoices/' + growth["id"] in client.get(f"/console/invoices?q={growth['id']}").text
    form = {"csrf_token": csrf, "amount": "100.000", "reason": "service outage", "refund_to": "manual",
            "reference": ""}
    missing = client.post(f"/console/invoices/{growth['id']}/credit-notes", data=form)
    assert missing.status_code == 422 and "Give the bank transfer&#39;s reference." in missing.text
    assert 'value="service outage"' in missing.text  # the form keeps what was typed
    no_csrf = client.post(f"/console/invoices/{growth['id']}/credit-notes", data={**form, "csrf_token": "x"})
    assert no_csrf.status_code == 403
    done = client.post(f"/console/invoices/{growth['id']}/credit-notes", data={**form, "reference": "BCA-771"},
                       follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Credit note issued" in shown.text and "-Rp100,000" in shown.text and "BCA-771" in shown.text
    (note,) = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=credit_note"))["data"]
    assert note["total"] == -100_000 and note["refers_to"] == growth["id"]
    indonesian = client.get(f"/console/invoices/{growth['id']}?lang=id")
    assert "Terbitkan nota kredit" in indonesian.text and "Transfer bank manual" in indonesian.text
    assert "Rp499.000" in indonesian.text and "Rp499,000" not in indonesian.text  # amounts in the console's language
    env.assert_books()
