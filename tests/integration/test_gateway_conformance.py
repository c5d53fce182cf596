"""Every gateway implementation honours the same interface. Today: the sandbox; Midtrans and
Xendit adapters join the parametrization when they exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from langganan.kit.errors import DomainError
from langganan.payments.gateway import Gateway, InvalidCardToken, InvalidSignature
from langganan.payments.sandbox import SandboxGateway

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["sandbox"])
def gateway(request: pytest.FixtureRequest) -> tuple[Gateway, SandboxGateway]:
    sandbox = SandboxGateway("conformance-secret")
    return sandbox, sandbox  # (gateway under test, a driver that can make cards and pay VAs)


def test_card_token_round_trip_and_charge_outcomes(gateway: tuple[Gateway, SandboxGateway]) -> None:
    gw, driver = gateway
    good = driver.tokenize("4242 4242 4242 4242", 12, 2030, "123", now=NOW)
    card = gw.card_details(good)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2030)
    first = gw.charge(token=good, amount=499000, currency="IDR", idempotency_key="pay_1", description="t")
    again = gw.charge(token=good, amount=499000, currency="IDR", idempotency_key="pay_1", description="t")
    assert first.succeeded and first == again  # same idempotency key, same answer
    declined = driver.tokenize("4000000000000002", 12, 2030, "123", now=NOW)
    result = gw.charge(token=declined, amount=1, currency="IDR", idempotency_key="pay_2", description="t")
    assert not result.succeeded and result.failure_code == "card_declined"
    with pytest.raises(InvalidCardToken):
        gw.card_details(good[:-1] + ("0" if good[-1] != "0" else "1"))


def test_virtual_account_and_signed_notification(gateway: tuple[Gateway, SandboxGateway]) -> None:
    gw, driver = gateway
    va = gw.create_virtual_account(reference="inv_1", amount=499000, currency="IDR", bank="bri",
                                   expires_at=NOW + timedelta(hours=24))
    assert va.bank == "bri" and va.va_number.isdigit() and va.expires_at == NOW + timedelta(hours=24)
    headers, body = driver.signed_transfer(va.va_number, 499000, "IDR", wall_now=NOW)
    note = gw.verify_notification(headers, body, NOW + timedelta(seconds=30))
    assert (note.va_number, note.amount, note.currency) == (va.va_number, 499000, "IDR")
    with pytest.raises(InvalidSignature):
        gw.verify_notification(headers, body.replace(b"499000", b"499001"), NOW)
    with pytest.raises(InvalidSignature):
        gw.verify_notification(headers, body, NOW + timedelta(minutes=10))  # stale
    with pytest.raises(DomainError):
        gw.create_virtual_account(reference="inv_1", amount=1, currency="IDR", bank="nobank", expires_at=NOW)
