"""The payment gateway interface. Every gateway (sandbox, Midtrans, Xendit) implements it and
passes the same conformance tests (tests/integration/test_gateway_conformance.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from langganan.kit.errors import InvalidRequest, Unauthorized, Unprocessable

BANKS = ("bca", "bni", "bri", "mandiri", "permata")


class InvalidCardToken(InvalidRequest):
    def __init__(self, message: str = "The card token is not valid.") -> None:
        super().__init__("invalid_card_token", message, param="provider_token")


class InvalidSignature(Unauthorized):
    def __init__(self, message: str = "The notification signature is not valid.") -> None:
        super().__init__("invalid_signature", message)


class InvalidNotification(Unprocessable):
    """A callback whose signature holds but whose body is not one the gateway sends: refused whole
    (nothing is recorded), so the gateway's retry or an operator can act on it."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__("invalid_notification", message, param=param)


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    provider_ref: str
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class VirtualAccount:
    bank: str
    va_number: str
    expires_at: datetime
    provider_ref: str


@dataclass(frozen=True)
class Notification:
    """A verified gateway callback: money arrived on a virtual account."""

    event_id: str
    va_number: str
    amount: int
    currency: str
    provider_ref: str


class Gateway(Protocol):
    name: str

    def card_details(self, token: str) -> CardDetails: ...

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult: ...

    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount: ...

    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification: ...
