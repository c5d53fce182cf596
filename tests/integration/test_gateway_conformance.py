"""Every gateway implementation honours the same interface (payments/gateway.py), driven through its
driver (tests/gateways): the sandbox itself, Midtrans and Xendit through local servers that speak their
documented protocols."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from langganan.kit.errors import DomainError
from langganan.payments.gateway import (
    CardSetupIncomplete,
    InvalidCardToken,
    InvalidNotification,
    InvalidSignature,
    Outcome,
)
from tests.gateways.driver import DECLINED_CARD, GOOD_CARD, Driver
from tests.gateways.midtrans_driver import MidtransDriver
from tests.gateways.sandbox_driver import SandboxDriver
from tests.gateways.xendit_driver import XenditDriver

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
DRIVERS = ["sandbox", "midtrans", "xendit"]


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    if request.param == "sandbox":
        yield SandboxDriver()
    elif request.param == "midtrans":
        with MidtransDriver(clock=lambda: NOW) as midtrans:
            yield midtrans
    elif request.param == "xendit":
        with XenditDriver() as xendit:
            yield xendit


def test_saved_card_details_and_charge_outcomes(driver: Driver) -> None:
    gw = driver.gateway
    good = driver.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    card = gw.card_details(good)
    assert (card.last4, card.exp_month, card.exp_year) == ("4242", 12, 2030) and card.brand == "visa"
    first = gw.charge(token=good, amount=499000, currency="IDR", idempotency_key="pay_conf_1", description="t")
    again = gw.charge(token=good, amount=499000, currency="IDR", idempotency_key="pay_conf_1", description="t")
    assert first.succeeded and not first.pending
    assert again.provider_ref == first.provider_ref  # same idempotency key: the same charge, never a second
    declined = driver.saved_card(DECLINED_CARD, 12, 2030, now=NOW)
    result = gw.charge(token=declined, amount=1000, currency="IDR", idempotency_key="pay_conf_2", description="t")
    assert not result.succeeded and result.failure_code and result.failure_message


def test_a_card_setup_gives_the_card_entered(driver: Driver) -> None:
    """Adding a card through the gateway's own card entry: the card the customer entered, chargeable; a setup
    the customer left without entering a card gives none."""
    gw = driver.gateway
    setup = gw.start_card_setup(reference="cs_conf_1", email="budi@example.id", name="Budi",
                                return_url="https://app.example/back?setup=cs_conf_1",
                                cancel_url="https://app.example/back?setup=cs_conf_1&canceled=1")
    with pytest.raises(CardSetupIncomplete):
        gw.finish_card_setup(setup.session_id, {})
    saved = gw.finish_card_setup(setup.session_id, driver.enter_card(setup, GOOD_CARD, 12, 2030, now=NOW))
    assert (saved.card.last4, saved.card.exp_month, saved.card.exp_year, saved.card.brand) == ("4242", 12, 2030,
                                                                                               "visa")
    assert gw.card_details(saved.token) == saved.card
    assert gw.charge(token=saved.token, amount=1000, currency="IDR", idempotency_key="pay_conf_cs",
                     description="t").succeeded


def test_unknown_card_token_is_refused(driver: Driver) -> None:
    good = driver.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    with pytest.raises(InvalidCardToken):
        driver.gateway.card_details(good[:-1] + ("0" if good[-1] != "0" else "1"))


@pytest.mark.parametrize("bank", ["bca", "bni", "bri", "mandiri", "permata"])
def test_virtual_account_paid_by_callback(driver: Driver, bank: str) -> None:
    gw = driver.gateway
    va = gw.create_virtual_account(reference=f"pay_va_{bank}", amount=499000, currency="IDR", bank=bank,
                                   expires_at=NOW + timedelta(hours=24))
    assert va.bank == bank and va.va_number.isdigit() and va.provider_ref
    assert va.expires_at == NOW + timedelta(hours=24)
    callback = driver.pay(reference=f"pay_va_{bank}", va_number=va.va_number, amount=499000, currency="IDR",
                          wall_now=NOW)
    note = gw.verify_notification(*callback, NOW + timedelta(seconds=30))
    assert note.outcome == Outcome.PAID and (note.amount, note.currency) == (499000, "IDR")
    assert note.reference == f"pay_va_{bank}" or note.va_number == va.va_number
    again = gw.verify_notification(*callback, NOW + timedelta(seconds=60))
    assert again.event_id == note.event_id  # a repeated callback is recognisable as the same event


def test_qris_paid_by_callback(driver: Driver) -> None:
    gw = driver.gateway
    qr = gw.create_qris(reference="pay_qr_1", amount=150000, currency="IDR", expires_at=NOW + timedelta(minutes=30))
    assert qr.qr_string.startswith("000201") and qr.provider_ref
    callback = driver.pay(reference="pay_qr_1", va_number=None, amount=150000, currency="IDR", wall_now=NOW)
    note = gw.verify_notification(*callback, NOW)
    assert (note.outcome, note.reference, note.amount) == (Outcome.PAID, "pay_qr_1", 150000)


def test_a_tampered_or_unsigned_callback_changes_nothing(driver: Driver) -> None:
    gw = driver.gateway
    va = gw.create_virtual_account(reference="pay_tamper", amount=200000, currency="IDR", bank="bni",
                                   expires_at=NOW + timedelta(hours=24))
    callback = driver.pay(reference="pay_tamper", va_number=va.va_number, amount=200000, currency="IDR",
                          wall_now=NOW)
    with pytest.raises((InvalidSignature, InvalidNotification)):
        gw.verify_notification(*driver.tampered(callback), NOW)
    with pytest.raises(InvalidSignature):
        gw.verify_notification({}, callback[1], NOW)


def test_refund_and_unknown_bank(driver: Driver) -> None:
    gw = driver.gateway
    good = driver.saved_card(GOOD_CARD, 12, 2030, now=NOW)
    charged = gw.charge(token=good, amount=300000, currency="IDR", idempotency_key="pay_conf_rf", description="t")
    refund = gw.refund(reference="pay_conf_rf", provider_ref=charged.provider_ref, amount=100000, currency="IDR",
                       idempotency_key="rf_conf_1", reason="partial")
    assert refund.succeeded or refund.pending
    with pytest.raises(DomainError):
        gw.create_virtual_account(reference="pay_nobank", amount=1000, currency="IDR", bank="nobank",
                                  expires_at=NOW + timedelta(hours=1))
