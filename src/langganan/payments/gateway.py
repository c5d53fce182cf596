"""The payment gateway interface. Every gateway (sandbox, Midtrans, Xendit) implements it and
passes the same conformance tests (tests/integration/test_gateway_conformance.py)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from langganan import metrics
from langganan.kit.errors import DomainError, InvalidRequest, Unauthorized, Unavailable, Unprocessable

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


class GatewayUnavailable(Unavailable):
    """The gateway did not answer in time or answered with a server error (after the retries an
    idempotent call may take): nothing is known to have happened; the caller may try again."""

    def __init__(self, message: str = "The payment gateway is not answering; try again shortly.") -> None:
        super().__init__("gateway_unavailable", message, retry_after=30)


class GatewayRefused(DomainError):
    """The gateway refused a request langganan made (4xx other than a decline): `code` is langganan's
    snake_case code, the message a sentence for a person (English; pages translate by code)."""

    status = 502
    type = "api_error"


class Outcome(StrEnum):
    """What a gateway says happened to a payment (a callback or a status check)."""

    PENDING = "pending"  # waiting for the customer: nothing to apply
    PAID = "paid"  # money arrived (settlement, capture accepted)
    FAILED = "failed"  # denied, canceled, failed
    EXPIRED = "expired"  # the VA / QR / charge lapsed unpaid
    REFUNDED = "refunded"  # money went back (full or partial: `amount` says how much)
    REVERSED = "reversed"  # a payment reported paid was taken back (Midtrans settlement → deny)


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SavedCard:
    """A card the gateway keeps for later charges (Midtrans saved_token_id, Xendit payment token)."""

    token: str
    card: CardDetails


class CardSetupKind(StrEnum):
    """How the customer gives a gateway a card to keep, without the number reaching langganan."""

    HOSTED = "hosted"  # the customer is sent to the gateway's page (`redirect_url`) and comes back
    TOKENIZE = "tokenize"  # langganan's page sends the card from the browser to `tokenize_url` with `client_key`
    SANDBOX_FORM = "sandbox_form"  # the sandbox's test-card form (langganan tokenizes the test card itself)


@dataclass(frozen=True)
class CardSetup:
    """A card setup the gateway has begun: `session_id` names it when the customer comes back."""

    session_id: str
    kind: CardSetupKind
    redirect_url: str | None = None  # HOSTED: the gateway's page where the card is entered
    tokenize_url: str | None = None  # TOKENIZE: where the browser sends the card (the gateway's card registration)
    client_key: str | None = None  # TOKENIZE: the public key that call needs


class CardSetupIncomplete(Unprocessable):
    """The customer came back without the gateway keeping a card (canceled, failed, expired or not done yet)."""

    def __init__(self, message: str = "The card was not saved: the card entry was not completed.",
                 code: str = "card_setup_incomplete") -> None:
        super().__init__(code, message)


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    provider_ref: str
    failure_code: str | None = None
    failure_message: str | None = None
    pending: bool = False  # neither taken nor declined yet (3DS, review): a callback or status check decides


@dataclass(frozen=True)
class VirtualAccount:
    bank: str
    va_number: str  # Mandiri bill payment (echannel): the bill key
    expires_at: datetime
    provider_ref: str
    biller_code: str | None = None  # Mandiri bill payment: shown beside the bill key


@dataclass(frozen=True)
class QrCode:
    """A QRIS code for one payment: any Indonesian bank or e-wallet app pays it."""

    qr_string: str  # the EMVCo payload, rendered as a QR code by langganan
    expires_at: datetime
    provider_ref: str


@dataclass(frozen=True)
class Notification:
    """A verified gateway callback or status answer about one payment.

    `event_id` is unique per provider event (a repeat is a duplicate and changes nothing); a later,
    different event about the same payment (settlement after pending, deny after settlement) has its own.
    The payment is found by `reference` (the langganan payment id sent as order id / reference id) or,
    when the gateway says only where money landed, by `va_number`."""

    event_id: str
    outcome: Outcome
    amount: int
    currency: str
    provider_ref: str
    reference: str | None = None
    va_number: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    saved_card: SavedCard | None = None  # a card the payment kept (Midtrans save_token_id, Xendit PAY_AND_SAVE)


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    provider_ref: str
    pending: bool = False  # accepted, settles later (a REFUNDED notification follows)
    failure_code: str | None = None
    failure_message: str | None = None


class Gateway(Protocol):
    """Every call is synchronous (run it outside a database transaction) and, where it creates
    something, idempotent by the `reference` / `idempotency_key` langganan passes (a payment id):
    calling twice never charges twice."""

    name: str

    def card_details(self, token: str) -> CardDetails: ...

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult: ...

    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount: ...

    def create_qris(self, *, reference: str, amount: int, currency: str, expires_at: datetime) -> QrCode: ...

    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification: ...

    def status(self, reference: str) -> Notification | None:
        """The gateway's current word on the payment sent as `reference`; None when it knows none."""
        ...

    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult: ...

    def start_card_setup(self, *, reference: str, email: str, name: str, return_url: str,
                         cancel_url: str) -> CardSetup:
        """Begin saving a card for a customer (`reference`: langganan's id for this setup, unique): where the
        customer enters the card. The customer comes back to `return_url` (or `cancel_url` when they give up)."""
        ...

    def finish_card_setup(self, session_id: str, returned: Mapping[str, str]) -> SavedCard:
        """The card the setup `session_id` saved, checked with the gateway where it can be; `returned` is what
        the customer's browser brought back (TOKENIZE: the gateway's answer and the expiry typed). Raises
        CardSetupIncomplete when no card was saved, InvalidCardToken when what came back is not a card."""
        ...

    def close(self) -> None:
        """Release the connections it keeps (at shutdown)."""
        ...


# -- counting calls -------------------------------------------------------------------------------

class _Named(Protocol):
    name: str


G = TypeVar("G", bound=_Named)
P = ParamSpec("P")
R = TypeVar("R")


def measured(operation: str) -> Callable[[Callable[Concatenate[G, P], R]], Callable[Concatenate[G, P], R]]:
    """A gateway method, counted and timed in the metrics as `operation` of the gateway's `name`, by outcome:
    a charge or refund succeeded, pending or declined; any other answer ok; the gateway unavailable (timeout,
    5xx), refused (it rejected langganan's request), rejected (the customer's input, before or after the
    call), or error (anything else, a bug)."""
    def decorate(call: Callable[Concatenate[G, P], R]) -> Callable[Concatenate[G, P], R]:
        @functools.wraps(call)
        def timed(gateway: G, /, *args: P.args, **kwargs: P.kwargs) -> R:
            started, outcome = time.perf_counter(), "error"
            try:
                result = call(gateway, *args, **kwargs)
                outcome = _outcome(result)
                return result
            except GatewayUnavailable:
                outcome = "unavailable"
                raise
            except GatewayRefused:
                outcome = "refused"
                raise
            except DomainError:
                outcome = "rejected"
                raise
            finally:
                metrics.gateway_call(gateway.name, operation, outcome, time.perf_counter() - started)
        return timed
    return decorate


def _outcome(result: object) -> str:
    if isinstance(result, ChargeResult | RefundResult):
        return "pending" if result.pending else "succeeded" if result.succeeded else "declined"
    return "ok"
