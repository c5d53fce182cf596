"""The built-in sandbox gateway: test cards, simulated virtual-account payments, signed callbacks.

Card tokens are self-describing and signed (no state): the token says which test card it is, so a
charge with the same idempotency key always gives the same answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from langganan.kit.errors import Unprocessable
from langganan.kit.fields import INT64_MAX
from langganan.payments.gateway import (
    BANKS,
    CardDetails,
    CardSetup,
    CardSetupIncomplete,
    CardSetupKind,
    ChargeResult,
    InvalidCardToken,
    InvalidNotification,
    InvalidSignature,
    Notification,
    Outcome,
    QrCode,
    RefundResult,
    SavedCard,
    VirtualAccount,
    measured,
)

TEST_CARDS = {
    "4242424242424242": ("visa", None),
    "4000000000000002": ("visa", ("card_declined", "The card was declined.")),
    "4000000000009995": ("visa", ("insufficient_funds", "The card has insufficient funds.")),
    "5555555555554444": ("mastercard", None),
}
BANK_PREFIX = {"bca": "39358", "bni": "8808", "bri": "26215", "mandiri": "88608", "permata": "8625"}
SIGNATURE_HEADER = "x-sandbox-signature"
TIMESTAMP_HEADER = "x-sandbox-timestamp"
TOLERANCE_SECONDS = 300
MAX_CARD_YEARS = 50  # a card expires within this many years (and its year fits the Integer column)
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²".isdigit() is true, int("²") fails
SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SandboxNotice(BaseModel):
    """The body of the sandbox gateway's callback (what `signed_transfer` sends); each field is bounded
    to what it is stored in (event ids, virtual account numbers, amounts, currency codes)."""

    model_config = ConfigDict(extra="ignore")
    event_id: StrictStr = Field(min_length=1, max_length=200)
    type: StrictStr | None = Field(default=None, max_length=40)
    va_number: StrictStr | None = Field(default=None, min_length=1, max_length=40)
    reference: StrictStr | None = Field(default=None, min_length=1, max_length=40)  # a QRIS payment's id
    amount: StrictInt = Field(gt=0, le=INT64_MAX)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")
    transaction_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SandboxGateway:
    name = "sandbox"

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _sign(self, data: bytes) -> str:
        return hmac.new(self._secret, data, hashlib.sha256).hexdigest()

    # -- cards -----------------------------------------------------------------------------
    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str, *, now: datetime) -> str:
        number = number.replace(" ", "")
        if number not in TEST_CARDS:
            raise Unprocessable("invalid_card_number",
                                "Use a sandbox test card: 4242424242424242, 4000000000000002 or 4000000000009995.",
                                param="number")
        if not 1 <= exp_month <= 12:
            raise Unprocessable("invalid_expiry_month", "The expiry month must be 1 to 12.", param="exp_month")
        if (exp_year, exp_month) < (now.year, now.month):
            raise Unprocessable("card_expired", "The card has expired.", param="exp_year")
        if exp_year > now.year + MAX_CARD_YEARS:
            raise Unprocessable("invalid_expiry_year", f"The expiry year must be within {MAX_CARD_YEARS} years.",
                                param="exp_year")
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise Unprocessable("invalid_cvc", "The CVC must be 3 or 4 digits.", param="cvc")
        body = json.dumps({"n": number, "m": exp_month, "y": exp_year, "r": secrets.token_hex(4)}).encode()
        return f"tok_sandbox_{_b64(body)}.{self._sign(body)[:32]}"

    def _card(self, token: str) -> dict[str, object]:
        if not token.startswith("tok_sandbox_") or "." not in token:
            raise InvalidCardToken()
        encoded, sig = token[len("tok_sandbox_"):].rsplit(".", 1)
        try:
            body = _unb64(encoded)
        except ValueError as exc:
            raise InvalidCardToken() from exc
        if not hmac.compare_digest(self._sign(body)[:32].encode(), sig.encode()):
            raise InvalidCardToken()
        card: dict[str, object] = json.loads(body)
        return card

    @measured("card_details")
    def card_details(self, token: str) -> CardDetails:
        card = self._card(token)
        number = str(card["n"])
        return CardDetails(brand=TEST_CARDS[number][0], last4=number[-4:], exp_month=int(str(card["m"])),
                           exp_year=int(str(card["y"])))

    @measured("start_card_setup")
    def start_card_setup(self, *, reference: str, email: str, name: str, return_url: str,
                         cancel_url: str) -> CardSetup:
        """The sandbox's card entry is its own test-card form (`tokenize`, or POST /v1/sandbox/cards): the
        setup is finished with the token that gives, as `returned["provider_token"]`."""
        return CardSetup(session_id="sbxcs_" + secrets.token_hex(10), kind=CardSetupKind.SANDBOX_FORM)

    @measured("finish_card_setup")
    def finish_card_setup(self, session_id: str, returned: Mapping[str, str]) -> SavedCard:
        token = returned.get("provider_token")
        if not token:
            raise CardSetupIncomplete("The card was not saved: no test card was entered.")
        return SavedCard(token=token, card=self.card_details(token))

    @measured("charge")
    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        card = self._card(token)
        ref = "ch_sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        failure = TEST_CARDS[str(card["n"])][1]
        if failure:
            return ChargeResult(False, ref, failure[0], failure[1])
        return ChargeResult(True, ref)

    # -- virtual accounts ----------------------------------------------------------------------
    @measured("create_virtual_account")
    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount:
        if bank not in BANKS:
            raise Unprocessable("invalid_bank", f"Bank must be one of {', '.join(BANKS)}.", param="bank")
        prefix = BANK_PREFIX[bank]
        digits = str(secrets.randbelow(10 ** (16 - len(prefix)))).zfill(16 - len(prefix))
        return VirtualAccount(bank=bank, va_number=prefix + digits, expires_at=expires_at,
                              provider_ref="va_sbx_" + secrets.token_hex(8))

    @measured("create_qris")
    def create_qris(self, *, reference: str, amount: int, currency: str, expires_at: datetime) -> QrCode:
        """A QRIS-shaped payload (EMVCo tags, not payable by a real app): the sandbox pays it with
        `signed_qris_payment`."""
        merchant = "ID.LANGGANAN.SANDBOX"
        body = (f"000201010212" f"26{len(merchant) + 4:02d}0016{merchant[:16]}" f"5303360"
                f"54{len(str(amount)):02d}{amount}" f"5802ID" f"62{len(reference) + 4:02d}05{len(reference):02d}"
                f"{reference}")
        return QrCode(qr_string=body + "6304" + hashlib.sha256(body.encode()).hexdigest()[:4].upper(),
                      expires_at=expires_at, provider_ref="qr_sbx_" + secrets.token_hex(8))

    def close(self) -> None:
        """Nothing to release: the sandbox makes no connections."""

    @measured("status")
    def status(self, reference: str) -> Notification | None:
        """The sandbox keeps no state: every payment's news came by its callback, so it has none to add."""
        return None

    @measured("refund")
    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        return RefundResult(True, "rf_sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20])

    def signed_qris_payment(self, reference: str, amount: int, currency: str, *,
                            wall_now: datetime) -> tuple[dict[str, str], bytes]:
        """What the sandbox gateway sends when a customer's app pays the QR code of payment `reference`."""
        body = json.dumps({"event_id": "sbxevt_" + secrets.token_hex(10), "type": "qris.paid",
                           "reference": reference, "amount": amount, "currency": currency,
                           "transaction_id": "trx_" + secrets.token_hex(8)}).encode()
        return self.sign(body, wall_now=wall_now), body

    def signed_transfer(self, va_number: str, amount: int, currency: str, *,
                        wall_now: datetime) -> tuple[dict[str, str], bytes]:
        """What the simulated bank's gateway sends when money lands on a virtual account."""
        body = json.dumps({"event_id": "sbxevt_" + secrets.token_hex(10), "type": "va.paid",
                           "va_number": va_number, "amount": amount, "currency": currency,
                           "transaction_id": "trx_" + secrets.token_hex(8)}).encode()
        return self.sign(body, wall_now=wall_now), body

    def sign(self, body: bytes, *, wall_now: datetime) -> dict[str, str]:
        ts = str(int(wall_now.timestamp()))
        return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: self._sign(ts.encode() + b"." + body)}

    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification:
        lower = {k.lower(): v for k, v in headers.items()}
        ts, sig = lower.get(TIMESTAMP_HEADER), lower.get(SIGNATURE_HEADER)
        if not ts or not sig or not TIMESTAMP.fullmatch(ts):
            raise InvalidSignature("The notification is not signed.")
        if abs(int(wall_now.timestamp()) - int(ts)) > TOLERANCE_SECONDS:
            raise InvalidSignature("The notification timestamp is too old or in the future.")
        if not SIGNATURE.fullmatch(sig) or not hmac.compare_digest(self._sign(ts.encode() + b"." + body), sig):
            raise InvalidSignature()
        try:
            notice = SandboxNotice.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            param = ".".join(str(p) for p in first["loc"]) or None
            raise InvalidNotification(f"The notification body is not a sandbox callback: "
                                      f"{param or 'the body'}: {first['msg']}.", param=param) from None
        if (notice.va_number is None) == (notice.reference is None):
            raise InvalidNotification("The notification must name either va_number or reference.",
                                      param="va_number")
        return Notification(event_id=notice.event_id, outcome=Outcome.PAID, va_number=notice.va_number,
                            reference=notice.reference, amount=notice.amount, currency=notice.currency,
                            provider_ref=notice.transaction_id or notice.event_id)
