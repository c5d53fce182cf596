"""The seal of an issued invoice's content (invoices.rules.content_digest; rule 12: issued invoices never
change): the same content gives the same seal however it is written down, any change gives another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from langganan.invoices.rules import content_digest

ISSUED = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
CONTENT = {"id": "inv_1", "total": 499000, "buyer": {"name": "PT Toko Maju", "tax_id": "01.234"},
           "issued_at": ISSUED, "lines": [{"description": "Growth (monthly)", "amount": 499000}]}


def test_the_seal_is_a_sha256_of_the_content() -> None:
    seal = content_digest(CONTENT)
    assert len(seal) == 64 and int(seal, 16) >= 0


def test_the_same_content_gives_the_same_seal_in_any_key_order_and_time_zone() -> None:
    jakarta = timezone(timedelta(hours=7))
    reordered = {"lines": CONTENT["lines"], "issued_at": ISSUED.astimezone(jakarta),
                 "buyer": {"tax_id": "01.234", "name": "PT Toko Maju"}, "total": 499000, "id": "inv_1"}
    assert content_digest(reordered) == content_digest(CONTENT)


@pytest.mark.parametrize("change", [
    {"total": 499001},
    {"buyer": {"name": "PT Toko Maju", "tax_id": "01.235"}},
    {"issued_at": ISSUED + timedelta(microseconds=1)},
    {"lines": [{"description": "Growth (yearly)", "amount": 499000}]},
    {"lines": []},
    {"note": None},
])
def test_any_change_to_the_content_changes_the_seal(change: dict[str, object]) -> None:
    assert content_digest({**CONTENT, **change}) != content_digest(CONTENT)


def test_names_are_kept_as_written() -> None:
    assert content_digest({**CONTENT, "buyer": {"name": "Toko Ñandú 東京"}}) != \
        content_digest({**CONTENT, "buyer": {"name": "Toko Nandu"}})


def test_a_value_that_is_not_content_is_refused() -> None:
    with pytest.raises(TypeError, match="not part of an invoice"):
        content_digest({**CONTENT, "total": object()})


def test_the_seal_format_is_stable() -> None:
    """Seals are stored at issue and checked for as long as invoices are kept: the canonical form (sorted
    keys, no spaces, UTF-8 text as written, times as UTC RFC 3339) must never change. The expected value
    is SHA-256 of that form, written out by hand in the test below it."""
    content = {**CONTENT, "buyer": {"name": "Toko Ñandú 東京"}}
    assert content_digest(content) == "438a0654248ce739f1516d499e2f0484fc12cefb7baa02cb29233d6c15985bc1"


def test_the_canonical_form_is_what_the_seal_hashes() -> None:
    import hashlib

    canonical = ('{"buyer":{"name":"Toko Ñandú 東京"},"id":"inv_1","issued_at":"2026-03-01T03:00:00+00:00",'
                 '"lines":[{"amount":499000,"description":"Growth (monthly)"}],"total":499000}')
    assert content_digest({**CONTENT, "buyer": {"name": "Toko Ñandú 東京"}}) == \
        hashlib.sha256(canonical.encode()).hexdigest()


def test_the_seal_does_not_depend_on_the_machines_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times are sealed as UTC instants, never in the zone of the machine that issues or checks."""
    import time

    expected = content_digest(CONTENT)
    try:
        monkeypatch.setenv("TZ", "Asia/Jakarta")
        time.tzset()
        assert content_digest(CONTENT) == expected
    finally:
        monkeypatch.undo()
        time.tzset()
