"""What the gateway conformance tests drive: a gateway under test and the outside world around it.

Each gateway has a driver: the sandbox drives itself; Midtrans and Xendit drive a local HTTP server
started by the tests that speaks the gateway's documented protocol (tests/gateways/fake_*.py). The driver
plays the customer and the bank: it saves test cards and makes money arrive, and hands back the callback
the gateway would send then, signed or authenticated as that gateway does."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from langganan.payments.gateway import CardSetup, Gateway

# Test cards every driver knows (the numbers follow the sandbox's; a fake maps them to its own test cards).
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"

Callback = tuple[dict[str, str], bytes]  # headers, body


class Driver(Protocol):
    gateway: Gateway

    def saved_card(self, number: str, exp_month: int, exp_year: int, *, now: datetime) -> str:
        """A token for a card the customer saved with the gateway, as langganan stores it."""
        ...

    def enter_card(self, setup: CardSetup, number: str, exp_month: int, exp_year: int, *,
                   now: datetime) -> dict[str, str]:
        """The customer enters the card where `setup` says (the gateway's page, or the gateway's card registration
        called from the browser); returns what the browser brings back to langganan (`finish_card_setup`)."""
        ...

    def pay(self, *, reference: str, va_number: str | None, amount: int, currency: str,
            wall_now: datetime) -> Callback:
        """The customer pays `amount` to the payment sent as `reference` (to its virtual account or QR code);
        returns the callback the gateway sends about it."""
        ...

    def expire(self, *, reference: str, wall_now: datetime) -> Callback | None:
        """The payment lapses unpaid; the callback the gateway sends, or None if it sends none."""
        ...

    def tampered(self, callback: Callback) -> Callback:
        """The same callback with its body altered and its signature/token left as it was."""
        ...
