from __future__ import annotations

from datetime import datetime

from langganan.payments.gateway import CardSetup
from langganan.payments.sandbox import SandboxGateway
from tests.gateways.driver import Callback


class SandboxDriver:
    def __init__(self, secret: str = "conformance-secret") -> None:
        self.gateway = self.sandbox = SandboxGateway(secret)

    def saved_card(self, number: str, exp_month: int, exp_year: int, *, now: datetime) -> str:
        return self.sandbox.tokenize(number, exp_month, exp_year, "123", now=now)

    def enter_card(self, setup: CardSetup, number: str, exp_month: int, exp_year: int, *,
                   now: datetime) -> dict[str, str]:
        return {"provider_token": self.saved_card(number, exp_month, exp_year, now=now)}

    def pay(self, *, reference: str, va_number: str | None, amount: int, currency: str,
            wall_now: datetime) -> Callback:
        if va_number is not None:
            return self.sandbox.signed_transfer(va_number, amount, currency, wall_now=wall_now)
        return self.sandbox.signed_qris_payment(reference, amount, currency, wall_now=wall_now)

    def expire(self, *, reference: str, wall_now: datetime) -> Callback | None:
        return None  # the sandbox sends no callback when a virtual account lapses

    def tampered(self, callback: Callback) -> Callback:
        headers, body = callback
        return headers, body.replace(b'"amount": ', b'"amount": 1')
