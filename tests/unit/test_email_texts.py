"""Every event type's subject, summary and email (text and HTML parts) rendered from the one template in both
languages: each sentence comes from the catalogs, filled in, and the Indonesian message is not the English one."""

from __future__ import annotations

import re

import pytest

from langganan.notifications.messages import Message, _templates, render
from tests.unit.email_samples import samples

LEFT_OVER_KEY = re.compile(r"\b(?:e?mail|quota|wallet)\.[a-z_]+(?:\.[a-z_]+)*")


def rendered(locale: str) -> list[tuple[str, Message]]:
    return [(event_type, render(event_type, locale, values)) for event_type, values in samples(locale)]


def parts(message: Message) -> dict[str, str]:
    return {"subject": message.subject, "summary": message.summary, "email": message.email or "",
            "html": message.html or ""}


def test_every_event_type_with_a_message_has_samples() -> None:
    blocks = {name.rsplit("__", 1)[0] for name in _templates()[0].blocks if not name.startswith("_")}
    assert len(blocks) > 20
    assert {event_type.replace(".", "_") for event_type, _values in samples("en")} == blocks


@pytest.mark.parametrize("locale", ["en", "id"])
def test_no_key_and_no_placeholder_is_left_in_any_part(locale: str) -> None:
    for event_type, message in rendered(locale):
        for name, text in parts(message).items():
            assert not LEFT_OVER_KEY.search(text), (event_type, name, LEFT_OVER_KEY.search(text))
            assert "{" not in text and "}" not in text, (event_type, name, text)
            assert "None" not in text and "Undefined" not in text, (event_type, name, text)
        assert message.subject[:1].isupper() and message.summary, event_type


def test_indonesian_says_every_part_differently_from_english() -> None:
    for (event_type, english), (_same, indonesian) in zip(rendered("en"), rendered("id"), strict=True):
        for name, text in parts(english).items():
            assert text != parts(indonesian)[name] or not text, (event_type, name, text)
        assert (english.email is None) == (indonesian.email is None), event_type


def test_the_texts_are_the_catalogs_sentences_with_amounts_in_the_accounts_language() -> None:
    en, id_ = dict(rendered("en")), dict(rendered("id"))  # (the last sample of each type)
    assert en["wallet.topped_up"].subject == "Broadcast balance topped up"
    assert id_["wallet.topped_up"].subject == "Saldo broadcast telah diisi ulang"
    assert en["payment.succeeded"].summary == "A payment of Rp20,000 was received."
    assert id_["payment.succeeded"].summary == "Pembayaran sebesar Rp20.000 telah diterima."
    assert en["quota.threshold_reached"].subject == "You have used 120% of your broadcast messages this month"
    assert en["quota.threshold_reached"].summary == \
        "You have used 12,000 of 10,000 broadcast messages this month (120%)."
    assert id_["quota.threshold_reached"].summary == \
        "Anda telah menggunakan 12.000 dari 10.000 pesan broadcast bulan ini (120%)."
    created_en = render("invoice.created", "en", next(v for k, v in samples("en") if k == "invoice.created"))
    created_id = render("invoice.created", "id", next(v for k, v in samples("id") if k == "invoice.created"))
    assert created_en.subject == "Invoice INV/2026/03/0007 issued: Rp1,665,000"
    assert created_id.subject == "Invoice INV/2026/03/0007 diterbitkan: Rp1.665.000"
    assert "  Virtual account number: 8808123456789012" in (created_en.email or "")
    assert "  Nomor virtual account: 8808123456789012" in (created_id.email or "")
    assert "Pay invoice INV/2026/03/0007 (Rp1,665,000)" in (created_en.html or "")


def test_values_are_escaped_in_the_html_part_and_only_there() -> None:
    values = next(v for k, v in samples("en") if k == "invoice.created" and v["to_owner"])
    message = render("invoice.created", "en", values)
    assert 'the owner of the account "Toko <Maju> & Co".' in (message.email or "")
    assert "Toko &lt;Maju&gt; &amp; Co" in (message.html or "") and "<Maju>" not in (message.html or "")
