"""The Midtrans Core API gateway (https://docs.midtrans.com, Core API v2), over httpx.

Requests authenticate with the server key as the HTTP Basic user name and an empty password. Every
payment is one Midtrans transaction whose `order_id` is the langganan reference (a card charge: its
idempotency key, the payment id), so a retried call cannot create a second one: Midtrans answers a repeated
order id with status_code 406, and the adapter then reads `GET /v2/{order_id}/status` and reports that
transaction. Midtrans often answers HTTP 200 with an error in the body's `status_code`; the body decides.

Calls and retries. A status read is retried once on a timeout, a transport error or a 5xx; so is a
`POST /v2/charge` (a duplicate order id cannot charge twice: the retry meets 406 and reads the status) and a
refund (Midtrans keeps one refund per `refund_key`, the idempotency key). After that: GatewayUnavailable
(503). Any other 4xx: GatewayRefused (502) with a snake_case code and a sentence naming Midtrans's message.

Bank transfers. bca/bni/bri: `payment_type: bank_transfer`, the number from `va_numbers[0].va_number`;
permata: the same call, the number from `permata_va_number`; mandiri: Mandiri Bill Payment
(`payment_type: echannel`), the bill key as the VA number beside its `biller_code`. The expiry is sent as
`custom_expiry`: `order_time` (the clock given to the constructor, wall time by default, written
"yyyy-MM-dd HH:mm:ss +0700") plus the whole duration to `expires_at` in the largest exact unit.

Saved cards. langganan stores a Midtrans card as `<saved_token_id>|<MM>|<YYYY>|<check>`: the saved_token_id
Midtrans returns when a card is registered (`/v2/card/register`, or a charge with `save_token_id`), the
card's expiry month and year (the registration flow knows them; Midtrans's `saved_token_id_expired_at`
when a charge saved the card), and `check`, the first 8 hex digits of SHA-256 of the rest (with its
`|`s). `card_token()` builds one. The check is not a secret (an API client can compute it): it makes a
token mangled in transit or storage fail as `invalid_card_token` instead of charging a wrong card; the
server key is not used, so rotating it keeps saved cards. Brand and last four digits come from the
saved_token_id itself, which starts with the card's first six digits and ends with its last four
("481111xDUgxnnredRMAXuklkvAON1114"). A charge sends `credit_card: {token_id: <saved_token_id>}`; its
provider_ref is the Midtrans transaction_id (the order id when Midtrans refused the saved token with 411 and
created no transaction: reported as a decline, `card_token_invalid`, so dunning asks for another card).

Adding a card (TOKENIZE). Core API has no page of its own where a card is entered: the customer's browser
registers the card itself, `GET {base}/v2/card/register?card_number=&card_exp_month=MM&card_exp_year=YYYY
&client_key=&callback=` (JSONP: the answer is `callback({...})` with `status_code` "200", `saved_token_id`,
`masked_card`, `transaction_id`), on a page langganan serves; only the saved_token_id and the expiry the
customer typed come back to langganan, which stores `card_token(...)` of them. Midtrans has no server-side
session for this: `session_id` is langganan's own random name for the setup.

Notifications. Midtrans POSTs JSON (Content-Type: application/json) whose `signature_key` is
SHA-512(order_id + status_code + gross_amount + server key), hex; anything else is refused as
InvalidSignature before the body is read further. Only those three fields are signed, so the notification
is then CONFIRMED with `GET /v2/{order_id}/status` and the Notification is built from that answer, never
from the posted body. transaction_status → Outcome: pending, authorize → PENDING; settlement → PAID;
capture → PAID when fraud_status is accept, PENDING when challenge, FAILED when deny; deny, cancel, failure
→ FAILED; expire → EXPIRED; refund, partial_refund → REFUNDED (amount: that refund's); chargeback,
partial_chargeback → REVERSED. A deny or cancel after a settlement (a bank reversal, which Mandiri Bill
Payment can send within a minute) is also FAILED here: the status answer does not say whether money had
arrived, so the payments service decides: FAILED about a payment it recorded as paid is a reversal.
`event_id` is "<transaction_id>:<transaction_status>" (capture adds the fraud status, refunds and
chargebacks the refund key), so a repeated notification is a duplicate while settlement then deny are
two events. `gross_amount` ("499000.00") must be whole rupiah.

Refunds use `POST /v2/{order_id}/refund` (Midtrans forwards them; "direct" refunds reach only some card
acquirers), for card and QRIS payments; Midtrans refuses bank transfers (GatewayRefused
`refund_not_allowed`). A card charge still in `capture` (before the next day's settlement) cannot be
refunded either; Midtrans wants it cancelled instead, which this adapter does not do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from langganan.kit.clock import wall_now
from langganan.kit.errors import Unprocessable
from langganan.payments.gateway import (
    BANKS,
    CardDetails,
    CardSetup,
    CardSetupIncomplete,
    CardSetupKind,
    ChargeResult,
    GatewayRefused,
    GatewayUnavailable,
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

SANDBOX_URL = "https://api.sandbox.midtrans.com"
CARD_REGISTER_PATH = "/v2/card/register"  # called by the customer's browser with the client key
PRODUCTION_URL = "https://api.midtrans.com"
WIB = timezone(timedelta(hours=7))  # Midtrans writes and reads times in Jakarta time
ORDER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # "2016-12-07 11:54:12 +0700"
ORDER_ID = re.compile(r"[A-Za-z0-9\-_~.]{1,50}")  # what Midtrans accepts as an order id
REFUND_KEY = re.compile(r"[A-Za-z0-9\-_]{1,100}")
SAVED_TOKEN_ID = re.compile(r"[0-9]{6}[A-Za-z0-9]{4,80}[0-9]{4}")
CARD_TOKEN = re.compile(r"(?P<saved>[0-9]{6}[A-Za-z0-9]{4,80}[0-9]{4})\|(?P<month>[0-9]{2})\|(?P<year>[0-9]{4})"
                        r"\|(?P<check>[0-9a-f]{8})")
AMOUNT = re.compile(r"(?P<rupiah>[0-9]{1,18})(?:\.(?P<sen>[0-9]{1,2}))?")
SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")
UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
MIN_EXPIRY = timedelta(seconds=20)  # Midtrans's shortest bank transfer expiry
ECHANNEL_BILL_INFO1 = "Payment"  # Mandiri shows these on the bill: at most 10 and 30 characters
BODY_OK = {200, 201, 202, 407}  # success, pending, denied, expired: answers about a transaction, not errors
REFUSALS = {  # Midtrans status_code → langganan code, and what it means for a person
    400: ("gateway_rejected_request", "Midtrans refused the request as invalid"),
    401: ("gateway_auth_failed", "Midtrans refused the server key (check LANGGANAN_MIDTRANS_SERVER_KEY and "
                                 "LANGGANAN_MIDTRANS_BASE_URL: sandbox and production keys differ)"),
    402: ("payment_method_not_enabled", "This payment method is not activated for the Midtrans account"),
    403: ("gateway_rejected_request", "Midtrans refused the request's content type"),
    404: ("transaction_not_found", "Midtrans has no such transaction"),
    406: ("duplicate_order_id", "Midtrans already has a transaction with this order id"),
    408: ("gateway_rejected_request", "Midtrans refused a field of the wrong type"),
    409: ("gateway_rate_limited", "Midtrans refused too many transactions with the same card"),
    410: ("gateway_account_inactive", "The Midtrans merchant account is deactivated"),
    411: ("card_token_invalid", "Midtrans refused the saved card token"),
    412: ("refund_not_allowed", "Midtrans cannot change this transaction (bank transfers cannot be refunded "
                               "through Midtrans, and a card payment refunds only after it settles)"),
    413: ("gateway_rejected_request", "Midtrans could not read the request"),
    414: ("refund_not_allowed", "Midtrans refused the refund"),
}
BRANDS = (("4", "visa"), ("34", "amex"), ("37", "amex"), ("35", "jcb"), ("51", "mastercard"),
          ("52", "mastercard"), ("53", "mastercard"), ("54", "mastercard"), ("55", "mastercard"), ("2", "mastercard"))


# -- saved cards --------------------------------------------------------------------------------
def _check(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def card_token(saved_token_id: str, exp_month: int, exp_year: int) -> str:
    """The token langganan stores for a card Midtrans saved (see the module docstring)."""
    if not SAVED_TOKEN_ID.fullmatch(saved_token_id):
        raise InvalidCardToken("The Midtrans saved_token_id is not valid.")
    if not 1 <= exp_month <= 12 or not 2000 <= exp_year <= 9999:
        raise InvalidCardToken("The card expiry is not valid.")
    body = f"{saved_token_id}|{exp_month:02d}|{exp_year:04d}"
    return f"{body}|{_check(body)}"


def _parse_card(token: str) -> tuple[str, int, int]:
    match = CARD_TOKEN.fullmatch(token)
    if match is None:
        raise InvalidCardToken()
    body = token.rsplit("|", 1)[0]
    month, year = int(match["month"]), int(match["year"])
    if not hmac.compare_digest(_check(body), match["check"]) or not 1 <= month <= 12 or year < 2000:
        raise InvalidCardToken()
    return match["saved"], month, year


def _brand(first6: str) -> str:
    for prefix, brand in BRANDS:
        if first6.startswith(prefix):
            return brand
    return "unknown"


# -- answers ------------------------------------------------------------------------------------
class _VaNumber(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bank: StrictStr
    va_number: StrictStr = Field(min_length=1, max_length=40)


class _Refund(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refund_chargeback_id: StrictInt | StrictStr | None = None
    refund_amount: StrictStr
    refund_key: StrictStr | None = Field(default=None, max_length=100)


class _Transaction(BaseModel):
    """A Midtrans answer about one transaction (charge, status, refund): the fields langganan reads."""

    model_config = ConfigDict(extra="ignore")
    status_code: StrictStr
    status_message: StrictStr | None = None
    transaction_id: StrictStr = Field(min_length=1, max_length=64)
    order_id: StrictStr = Field(min_length=1, max_length=50)
    gross_amount: StrictStr
    currency: StrictStr = Field(default="IDR", pattern=r"^[A-Z]{3}$")
    payment_type: StrictStr | None = None
    transaction_status: StrictStr
    fraud_status: StrictStr | None = None
    va_numbers: list[_VaNumber] | None = None
    permata_va_number: StrictStr | None = Field(default=None, max_length=40)
    bill_key: StrictStr | None = Field(default=None, max_length=40)
    biller_code: StrictStr | None = Field(default=None, max_length=20)
    qr_string: StrictStr | None = None
    expiry_time: StrictStr | None = None
    saved_token_id: StrictStr | None = None
    saved_token_id_expired_at: StrictStr | None = None
    refunds: list[_Refund] | None = None
    refund_chargeback_id: StrictInt | StrictStr | None = None
    refund_amount: StrictStr | None = None
    refund_key: StrictStr | None = None

    def va_number(self) -> str | None:
        if self.va_numbers:
            return self.va_numbers[0].va_number
        return self.permata_va_number or self.bill_key


class _BadAnswer(Exception):
    """Midtrans answered something that is not what its documentation describes."""


def _rupiah(text: str) -> int:
    """ "499000.00" → 499000; fractional rupiah (or anything else) is refused."""
    match = AMOUNT.fullmatch(text)
    if match is None or int(match["sen"] or "0") != 0:
        raise _BadAnswer(f"the amount {text[:40]!r} is not a whole number of rupiah")
    return int(match["rupiah"])


def _wib(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=WIB)
    except ValueError:
        return None


def _transaction(body: dict[str, Any]) -> _Transaction:
    try:
        return _Transaction.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the body"
        raise _BadAnswer(f"{where}: {first['msg']}") from None


class MidtransGateway:
    name = "midtrans"

    def __init__(self, server_key: str, base_url: str = SANDBOX_URL, *, client_key: str | None = None,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], datetime] = wall_now) -> None:
        self._server_key = server_key
        self.client_key = client_key  # the browser's key for card registration (start_card_setup)
        self._clock = clock
        self._client = httpx.Client(base_url=base_url.rstrip("/"), auth=httpx.BasicAuth(server_key, ""),
                                    timeout=httpx.Timeout(timeout), transport=transport,
                                    headers={"Accept": "application/json", "User-Agent": "langganan"})

    def close(self) -> None:
        self._client.close()

    # -- HTTP ---------------------------------------------------------------------------------------
    def _call(self, method: Literal["GET", "POST"], path: str, payload: dict[str, Any] | None = None, *,
              retry: bool) -> tuple[int, dict[str, Any]]:
        """One call (two when `retry`: after a timeout, a transport error or a 5xx). Returns the Midtrans
        status code (the body's `status_code` when it has one, else the HTTP status) and the body."""
        for attempt in (1, 2):
            last = attempt == 2 or not retry
            try:
                response = self._client.request(method, path, json=payload)
            except httpx.TransportError:  # timeouts, refused connections, broken answers
                if last:
                    raise GatewayUnavailable() from None
                continue
            try:
                body = response.json()
            except ValueError:
                body = None
            code = response.status_code
            if isinstance(body, dict) and isinstance(body.get("status_code"), str) \
                    and body["status_code"].isascii() and body["status_code"].isdigit():
                code = int(body["status_code"])
            if response.status_code >= 500 or code >= 500:
                if last:
                    raise GatewayUnavailable() from None
                continue
            if not isinstance(body, dict):
                raise GatewayRefused("gateway_bad_answer", f"Midtrans answered {method} {path} with HTTP "
                                     f"{response.status_code} and a body that is not a JSON object.")
            return code, body
        raise AssertionError("unreachable")

    @staticmethod
    def _refused(code: int, body: Mapping[str, Any]) -> GatewayRefused:
        ours, meaning = REFUSALS.get(code, ("gateway_refused", "Midtrans refused the request"))
        message = body.get("status_message")
        details = body.get("validation_messages")
        said = "; ".join(str(m) for m in details) if isinstance(details, list) and details else message
        if code == 400 and isinstance(said, str) and "gross_amount" in said:
            ours = "invalid_amount"
        text = f"{meaning} (status {code}" + (f": {str(said)[:300]}" if said else "") + ")."
        return GatewayRefused(ours, text)

    def _status_body(self, order_id: str) -> dict[str, Any] | None:
        code, body = self._call("GET", f"/v2/{quote(order_id, safe='')}/status", retry=True)
        if code == 404:
            return None
        if code not in BODY_OK:
            raise self._refused(code, body)
        return body

    def _create(self, payload: dict[str, Any]) -> tuple[bool, _Transaction]:
        """POST /v2/charge; on a duplicate order id, the existing transaction. Returns (created, answer)."""
        order_id = payload["transaction_details"]["order_id"]
        code, body = self._call("POST", "/v2/charge", payload, retry=True)
        created = True
        if code == 406:  # this order id exists: a retry of a call whose answer was lost, or a repeat
            existing = self._status_body(order_id)
            if existing is None:
                raise self._refused(code, body)
            code, body, created = 200, existing, False  # _status_body checked the answer's own status_code
        if code not in BODY_OK:
            raise self._refused(code, body)
        try:
            answer = _transaction(body)
        except _BadAnswer as exc:
            raise GatewayRefused("gateway_bad_answer", f"Midtrans's answer is not one it documents: {exc}.") \
                from None
        if answer.order_id != order_id:
            raise GatewayRefused("gateway_bad_answer", "Midtrans answered about another order id.")
        return created, answer

    # -- requests -------------------------------------------------------------------------------------
    @staticmethod
    def _order(reference: str, amount: int, currency: str) -> dict[str, Any]:
        if not ORDER_ID.fullmatch(reference):
            raise Unprocessable("invalid_reference", "A Midtrans order id is 1 to 50 letters, digits, '-', '_', "
                                "'~' or '.'.", param="reference")
        if currency != "IDR":
            raise Unprocessable("unsupported_currency", "Midtrans takes payments in IDR only.", param="currency")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise Unprocessable("invalid_amount", "The amount must be a positive whole number of rupiah.",
                                param="amount")
        return {"order_id": reference, "gross_amount": amount}

    def _expiry(self, expires_at: datetime) -> dict[str, Any]:
        order_time = self._clock().astimezone(WIB).replace(microsecond=0)
        seconds = int((expires_at - order_time).total_seconds())
        if seconds < MIN_EXPIRY.total_seconds():
            raise Unprocessable("invalid_expiry", "The payment must stay open for at least 20 seconds.",
                                param="expires_at")
        unit, size = next((u, s) for u, s in UNITS if seconds % s == 0)
        return {"order_time": order_time.strftime(ORDER_TIME_FORMAT), "expiry_duration": seconds // size,
                "unit": unit}

    @measured("create_virtual_account")
    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount:
        if bank not in BANKS:
            raise Unprocessable("invalid_bank", f"Bank must be one of {', '.join(BANKS)}.", param="bank")
        payload: dict[str, Any] = {"transaction_details": self._order(reference, amount, currency),
                                   "custom_expiry": self._expiry(expires_at)}
        if bank == "mandiri":
            payload |= {"payment_type": "echannel",
                        "echannel": {"bill_info1": ECHANNEL_BILL_INFO1, "bill_info2": reference[:30]}}
        else:
            payload |= {"payment_type": "bank_transfer", "bank_transfer": {"bank": bank}}
        created, answer = self._create(payload)
        if bank == "mandiri":
            number, same_bank = answer.bill_key, answer.payment_type == "echannel"
        elif bank == "permata":
            number, same_bank = answer.permata_va_number, True
        else:
            first = answer.va_numbers[0] if answer.va_numbers else None
            number, same_bank = (first.va_number, first.bank == bank) if first else (None, False)
        if not created and answer.transaction_status != "pending":
            raise GatewayRefused("duplicate_order_id", f"Midtrans already has order {reference}, now "
                                 f"{answer.transaction_status[:40]}; a new virtual account needs a new order id.")
        if not number or not same_bank:
            raise GatewayRefused("duplicate_order_id" if not created else "gateway_bad_answer",
                                 f"Midtrans has order {reference} as another kind of payment; it cannot give it "
                                 f"a {bank} virtual account." if not created else
                                 f"Midtrans's answer names no {bank} virtual account number.")
        expires = expires_at if created else (_wib(answer.expiry_time) or expires_at)
        return VirtualAccount(bank=bank, va_number=number, expires_at=expires, provider_ref=answer.transaction_id,
                              biller_code=answer.biller_code if bank == "mandiri" else None)

    @measured("create_qris")
    def create_qris(self, *, reference: str, amount: int, currency: str, expires_at: datetime) -> QrCode:
        payload = {"payment_type": "qris", "transaction_details": self._order(reference, amount, currency),
                   "qris": {"acquirer": "gopay"}, "custom_expiry": self._expiry(expires_at)}
        created, answer = self._create(payload)
        if not answer.qr_string:
            raise GatewayRefused("duplicate_order_id" if not created else "gateway_bad_answer",
                                 f"Midtrans already has order {reference} and does not give its QR code again."
                                 if not created else "Midtrans's answer has no QR code.")
        return QrCode(qr_string=answer.qr_string, expires_at=expires_at, provider_ref=answer.transaction_id)

    # -- cards ----------------------------------------------------------------------------------------
    @measured("card_details")
    def card_details(self, token: str) -> CardDetails:
        saved, month, year = _parse_card(token)
        return CardDetails(brand=_brand(saved[:6]), last4=saved[-4:], exp_month=month, exp_year=year)

    @measured("start_card_setup")
    def start_card_setup(self, *, reference: str, email: str, name: str, return_url: str,
                         cancel_url: str) -> CardSetup:
        """Langganan's own card page registers the card from the browser (no call to Midtrans here)."""
        if not self.client_key:
            raise GatewayRefused("gateway_settings", "Adding a card with Midtrans needs its client key "
                                 "(LANGGANAN_MIDTRANS_CLIENT_KEY).")
        return CardSetup(session_id="mtcs_" + secrets.token_hex(12), kind=CardSetupKind.TOKENIZE,
                         tokenize_url=str(self._client.base_url).rstrip("/") + CARD_REGISTER_PATH,
                         client_key=self.client_key)

    @measured("finish_card_setup")
    def finish_card_setup(self, session_id: str, returned: Mapping[str, str]) -> SavedCard:
        """`returned`: the saved_token_id Midtrans gave the browser and the expiry month and year the customer
        typed (Midtrans offers no call to read a saved token back, so its form and the expiry are checked)."""
        saved = returned.get("saved_token_id") or ""
        if not saved:
            raise CardSetupIncomplete()
        month, year = returned.get("exp_month") or "", returned.get("exp_year") or ""
        if not (month.isascii() and month.isdigit() and year.isascii() and year.isdigit()
                and len(month) <= 2 and len(year) == 4):
            raise InvalidCardToken("The card expiry is not valid.")
        token = card_token(saved, int(month), int(year))
        return SavedCard(token=token, card=self.card_details(token))

    @measured("charge")
    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        saved, _, _ = _parse_card(token)
        payload = {"payment_type": "credit_card", "transaction_details": self._order(idempotency_key, amount, currency),
                   "credit_card": {"token_id": saved}}
        try:
            _, answer = self._create(payload)
        except GatewayRefused as exc:
            if exc.code == "card_token_invalid":  # the card is gone at Midtrans: a decline for dunning
                return ChargeResult(False, idempotency_key, exc.code, exc.message)
            raise
        status, fraud = answer.transaction_status, answer.fraud_status
        if status == "settlement" or (status == "capture" and fraud == "accept"):
            return ChargeResult(True, answer.transaction_id)
        if status in ("pending", "authorize") or (status == "capture" and fraud == "challenge"):
            return ChargeResult(False, answer.transaction_id, pending=True)
        if status in ("refund", "partial_refund", "chargeback", "partial_chargeback"):
            return ChargeResult(True, answer.transaction_id)  # taken earlier (a retry), money since sent back
        message = answer.status_message or "The card was declined."
        code = "card_declined" if status == "deny" or fraud == "deny" else f"charge_{status}"[:40]
        return ChargeResult(False, answer.transaction_id, code, message)

    # -- notifications and status ---------------------------------------------------------------------
    def _verify_signature(self, headers: Mapping[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise InvalidSignature("The notification is not a Midtrans notification (Midtrans posts its signed "
                                   "JSON with Content-Type: application/json).")
        try:
            posted = json.loads(body)
        except ValueError:
            posted = None
        if not isinstance(posted, dict):
            raise InvalidSignature("The notification is not signed.")
        order_id, status_code, gross_amount, signature = (
            posted.get(k) for k in ("order_id", "status_code", "gross_amount", "signature_key"))
        if not (isinstance(order_id, str) and isinstance(status_code, str) and isinstance(gross_amount, str)
                and isinstance(signature, str)):
            raise InvalidSignature("The notification is not signed.")
        expected = hashlib.sha512((order_id + status_code + gross_amount + self._server_key).encode()).hexdigest()
        if not SIGNATURE.fullmatch(signature) or not hmac.compare_digest(expected, signature.lower()):
            raise InvalidSignature()
        if not ORDER_ID.fullmatch(order_id):
            raise InvalidNotification("The notification's order_id is not a Midtrans order id.", param="order_id")
        return order_id, posted

    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification:
        order_id, posted = self._verify_signature(headers, body)
        answer = self._status_body(order_id)
        if answer is None:
            raise InvalidNotification(f"Midtrans's status API knows no transaction {order_id}.", param="order_id")
        refund_key = posted.get("refund_key")
        try:
            note = self._notification(_transaction(answer), refund_key if isinstance(refund_key, str) else None)
        except _BadAnswer as exc:
            raise InvalidNotification(f"Midtrans's status answer is not one it documents: {exc}.") from None
        if note.reference != order_id:
            raise InvalidNotification("Midtrans's status answer is about another order id.", param="order_id")
        return note

    @measured("status")
    def status(self, reference: str) -> Notification | None:
        if not ORDER_ID.fullmatch(reference):
            return None  # Midtrans could not have been sent it
        answer = self._status_body(reference)
        if answer is None:
            return None
        try:
            return self._notification(_transaction(answer), None)
        except _BadAnswer as exc:
            raise GatewayRefused("gateway_bad_answer", f"Midtrans's status answer is not one it documents: {exc}.") \
                from None

    def _notification(self, tx: _Transaction, refund_key: str | None) -> Notification:
        status, fraud = tx.transaction_status, tx.fraud_status
        amount = _rupiah(tx.gross_amount)
        event = f"{tx.transaction_id}:{status}"
        failure: tuple[str, str] | None = None
        if status in ("pending", "authorize"):
            outcome = Outcome.PENDING
        elif status == "settlement":
            outcome = Outcome.PAID
        elif status == "capture":
            event += f":{fraud or 'none'}"
            outcome = {"accept": Outcome.PAID, "deny": Outcome.FAILED}.get(fraud or "", Outcome.PENDING)
            if outcome == Outcome.FAILED:
                failure = ("card_declined", tx.status_message or "The card payment was denied.")
        elif status in ("deny", "cancel", "failure"):
            outcome = Outcome.FAILED
            failure = ({"deny": "payment_denied", "cancel": "payment_canceled"}.get(status, "payment_failed"),
                       tx.status_message or f"Midtrans reports the payment as {status}.")
        elif status == "expire":
            outcome = Outcome.EXPIRED
        elif status in ("refund", "partial_refund", "chargeback", "partial_chargeback"):
            outcome = Outcome.REFUNDED if "refund" in status else Outcome.REVERSED
            refunds = tx.refunds or []
            chosen = next((r for r in refunds if refund_key and r.refund_key == refund_key),
                          refunds[-1] if refunds else None)
            if chosen is not None:
                amount = _rupiah(chosen.refund_amount)
                event += f":{chosen.refund_key or chosen.refund_chargeback_id or len(refunds)}"
            elif status.startswith("partial"):
                raise _BadAnswer(f"a {status} answer lists no refund")
        else:
            raise _BadAnswer(f"transaction_status {status[:40]!r} is not one Midtrans documents")
        saved = None
        if tx.saved_token_id and SAVED_TOKEN_ID.fullmatch(tx.saved_token_id):
            expiry = _wib(tx.saved_token_id_expired_at)
            if expiry is not None:
                token = card_token(tx.saved_token_id, expiry.month, expiry.year)
                saved = SavedCard(token=token, card=self.card_details(token))
        return Notification(event_id=event[:200], outcome=outcome, amount=amount, currency=tx.currency,
                            provider_ref=tx.transaction_id, reference=tx.order_id, va_number=tx.va_number(),
                            failure_code=failure[0] if failure else None,
                            failure_message=failure[1][:500] if failure else None, saved_card=saved)

    # -- refunds ----------------------------------------------------------------------------------------
    @measured("refund")
    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        self._order(reference, amount, currency)
        if not REFUND_KEY.fullmatch(idempotency_key):
            raise Unprocessable("invalid_refund_key", "A Midtrans refund key is letters, digits, '-' and '_'.",
                                param="idempotency_key")
        payload = {"refund_key": idempotency_key, "amount": amount, "reason": reason[:255]}
        code, body = self._call("POST", f"/v2/{quote(reference, safe='')}/refund", payload, retry=True)
        if code not in (200, 201):
            raise self._refused(code, body)
        ref = body.get("refund_chargeback_id")
        provider_ref = str(ref) if isinstance(ref, int | str) and str(ref) else idempotency_key
        return RefundResult(succeeded=code == 200, provider_ref=provider_ref, pending=code == 201)
