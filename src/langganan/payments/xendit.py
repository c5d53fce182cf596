"""The Xendit gateway: Payments API v3 (payment requests, payment tokens, refunds) over HTTPS.

What Xendit documents and this adapter relies on:
- Basic auth with the secret key as user name and an empty password; `api-version: 2024-11-11` on
  every call; an `idempotency-key` header on every create (a repeat with the same key answers the first
  request's answer; langganan passes the payment id).
- A payment request (`pr-…`) is langganan's payment: `reference_id` is the langganan payment id,
  `provider_ref` is the payment request id. Virtual accounts and QRIS codes are presented to the customer
  through the answer's `actions` (descriptor `VIRTUAL_ACCOUNT_NUMBER` / `QR_STRING`); a saved card is a
  payment token (`pt-…`) charged with `payment_token_id`.
- Webhooks carry the account's callback token in `x-callback-token` and no signature: anyone holding
  the token could forge a body, so every payment callback is confirmed by reading the payment request
  back (GET) and the Notification is built from Xendit's answer, not from the body. Webhooks repeat
  (retries for 24 hours) and may arrive out of order; Xendit's payloads carry no event id, so a
  callback's `event_id` is `"{payment_id}:{event}"` (`payment_request_id` for `payment_request.*`,
  the refund id for `refund.*`), which a status check reproduces for the same fact.
- Adding a card (HOSTED) is a Payment Session: `POST /sessions` with `session_type: SAVE`, `mode:
  PAYMENT_LINK`, `amount: 0`, only the CARDS channel and `card_on_file_type: RECURRING` (how langganan
  charges a saved card), answered with `payment_session_id` (`ps-…`) and `payment_link_url`, Xendit's page
  where the customer enters the card; the customer comes back to `success_return_url` (or
  `cancel_return_url`). Nothing the browser brings back is trusted: `GET /sessions/{id}` must say
  COMPLETED with a `payment_token_id`, whose card details are read as for any saved card.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

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

API_VERSION = "2024-11-11"
CALLBACK_TOKEN_HEADER = "x-callback-token"
COUNTRY = "ID"
CHANNELS = {bank: f"{bank.upper()}_VIRTUAL_ACCOUNT" for bank in BANKS}
QRIS = "QRIS"
CARDS = "CARDS"
TOKEN_ID = re.compile(r"pt-[A-Za-z0-9-]{1,60}")
REQUEST_ID = re.compile(r"pr-[A-Za-z0-9-]{1,60}")
SESSION_ID = re.compile(r"ps-[A-Za-z0-9]{1,60}")
SESSION_ENDS = {"EXPIRED": "The card entry expired before the card was saved; start again.",
                "CANCELED": "The card entry was canceled; no card was saved.",
                "ACTIVE": "The card was not saved: the card entry on Xendit's page was not completed."}
REFUND_REASONS = ("FRAUDULENT", "DUPLICATE", "REQUESTED_BY_CUSTOMER", "CANCELLATION", "OTHERS")
PENDING_STATUSES = ("REQUIRES_ACTION", "ACCEPTING_PAYMENTS", "AUTHORIZED", "PENDING")

# Xendit payment failure codes → langganan's decline codes (the sandbox's where they mean the same).
FAILURES: dict[str, tuple[str, str]] = {
    "CARD_DECLINED": ("card_declined", "The card was declined."),
    "DECLINED_BY_ISSUER": ("card_declined", "The card issuer declined the payment."),
    "DECLINED_BY_PROCESSOR": ("card_declined", "The card processor declined the payment."),
    "INSUFFICIENT_BALANCE": ("insufficient_funds", "The card has insufficient funds."),
    "EXPIRED_CARD": ("expired_card", "The card has expired."),
    "INVALID_CVV": ("incorrect_cvc", "The card's security code is wrong."),
    "STOLEN_CARD": ("card_declined", "The card was declined."),
    "INACTIVE_OR_UNAUTHORIZED_CARD": ("card_declined", "The card is inactive or not allowed for this payment."),
    "SUSPECTED_FRAUDULENT": ("card_declined", "The payment was declined as suspected fraud."),
    "AUTHENTICATION_FAILED": ("authentication_failed", "The cardholder did not pass authentication."),
    "INVALID_TOKEN": ("invalid_card_token", "The saved card is no longer valid; add the card again."),
    "PAYMENT_AMOUNT_LIMITS_EXCEEDED": ("amount_limit_exceeded", "The amount is over the card's limit."),
    "PAYMENT_REQUEST_EXPIRED": ("expired", "The payment expired before it was completed."),
    "ISSUER_UNAVAILABLE": ("processing_error", "The card issuer is not answering; try again later."),
    "CHANNEL_UNAVAILABLE": ("processing_error", "The payment channel is not answering; try again later."),
    "PROCESSOR_ERROR": ("processing_error", "The card processor had an error; try again later."),
}

# Xendit API error codes (4xx answers) → langganan's codes and sentences.
REFUSALS: dict[str, tuple[str, str]] = {
    "API_VALIDATION_ERROR": ("invalid_request", "Xendit refused the request as invalid."),
    "INVALID_VALUE_ERROR": ("invalid_request", "Xendit refused a value in the request."),
    "INVALID_AMOUNT": ("invalid_request", "Xendit refused the amount."),
    "DUPLICATE_ERROR": ("duplicate_request", "Xendit already has a different request with this id."),
    "IDEMPOTENCY_ERROR": ("duplicate_request", "Xendit already has a different request with this id."),
    "INVALID_API_KEY": ("gateway_credentials", "Xendit refused langganan's secret key."),
    "REQUEST_FORBIDDEN_ERROR": ("gateway_credentials", "Xendit's secret key lacks the permission needed."),
    "INVALID_MERCHANT_SETTINGS": ("gateway_settings", "The Xendit account is not set up for this payment."),
    "CHANNEL_NOT_ACTIVATED": ("channel_not_activated", "This payment channel is not activated on Xendit."),
    "SKIP_3DS_FORBIDDEN": ("gateway_settings", "Xendit does not allow card charges without 3DS here."),
    "DATA_NOT_FOUND": ("not_found", "Xendit knows no such payment."),
    "INVALID_TOKEN": ("invalid_card_token", "The saved card is no longer valid; add the card again."),
    "CARD_EXPIRED": ("expired_card", "The card has expired."),
    "REFUND_AMOUNT_EXCEEDED": ("refund_amount_exceeded", "The refund is more than what is left to refund."),
    "REFUND_IN_PROGRESS": ("refund_in_progress", "Another refund of this payment is still in progress."),
    "INELIGIBLE_TRANSACTION_STATUS": ("not_refundable", "The payment is not in a state that can be refunded."),
    "REFUND_NOT_SUPPORTED": ("refund_not_supported", "This payment channel does not support refunds."),
    "PARTIAL_REFUND_NOT_SUPPORTED": ("refund_not_supported", "This payment channel does not support "
                                                             "partial refunds."),
    "PARTIAL_REFUND_COUNTS_EXCEEDED": ("refund_not_supported", "This payment has had all the partial refunds "
                                                               "its channel allows."),
    "INSUFFICIENT_BALANCE": ("gateway_balance", "The Xendit balance is too low for this refund."),
    "TEMPORARILY_UNAVAILABLE": ("gateway_unavailable", "Xendit cannot do this right now; try again later."),
    "PAYMENT_REQUEST_RATE_LIMITED": ("rate_limited", "Xendit is limiting requests to this channel; "
                                                     "try again later."),
}


class _NotFound(Exception):
    """Xendit answered 404 where langganan asks whether something exists."""


def _refused(status: int, body: Any) -> GatewayRefused:
    xendit_code = body.get("error_code") if isinstance(body, dict) else None
    if isinstance(xendit_code, str) and xendit_code in REFUSALS:
        code, message = REFUSALS[xendit_code]
    elif isinstance(xendit_code, str) and re.fullmatch(r"[A-Z][A-Z0-9_]{0,60}", xendit_code):
        code, message = xendit_code.lower(), f"Xendit refused the request ({xendit_code})."
    else:
        code, message = "gateway_refused", f"Xendit refused the request (HTTP {status})."
    return GatewayRefused(code, message)


def _bad_answer(what: str) -> GatewayRefused:
    return GatewayRefused("gateway_bad_answer", f"Xendit's answer is not what its API documents: {what}.")


def _amount(value: Any) -> int | None:
    """A whole amount from Xendit's JSON: a number or a numeric string (its examples use both)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        return None
    return int(number)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _action(answer: Mapping[str, Any], descriptor: str) -> str | None:
    for action in answer.get("actions") or ():
        if isinstance(action, dict) and action.get("descriptor") == descriptor:
            value = action.get("value")
            return value if isinstance(value, str) and value else None
    return None


def _text(data: Mapping[str, Any], key: str, limit: int = 255) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


class XenditGateway:
    name = "xendit"

    def __init__(self, secret_key: str, callback_token: str, base_url: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None, retry_pause: float = 0.5,
                 va_display_name: str = "Langganan") -> None:
        self._callback_token = callback_token.encode()
        self._retry_pause = retry_pause
        self._va_display_name = va_display_name
        self._client = httpx.Client(base_url=base_url, auth=(secret_key, ""), timeout=timeout, transport=transport,
                                    headers={"api-version": API_VERSION, "accept": "application/json"})

    def close(self) -> None:
        self._client.close()

    # -- HTTP ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, json_body: dict[str, Any] | None = None,
              idempotency_key: str | None = None, params: dict[str, str] | None = None,
              not_found: type[Exception] | None = None) -> Any:
        """One call, retried once on a timeout or a server error: GETs are safe to repeat and every
        POST carries an idempotency key (the retry sends the same one, so Xendit answers the first)."""
        headers = {"idempotency-key": idempotency_key} if idempotency_key is not None else {}
        for attempt in (1, 2):
            try:
                response = self._client.request(method, path, json=json_body, params=params, headers=headers)
            except httpx.TransportError:  # timeouts, refused or dropped connections
                if attempt == 2:
                    raise GatewayUnavailable() from None
                continue
            if response.status_code >= 500 or response.status_code == 429:
                if attempt == 2:
                    raise GatewayUnavailable()
                time.sleep(self._retry_pause)
                continue
            try:
                body = response.json()
            except ValueError:
                body = None
            if response.status_code == 404 and not_found is not None:
                raise not_found()
            if response.status_code >= 400:
                raise _refused(response.status_code, body)
            if not isinstance(body, dict):
                raise _bad_answer("the body is not a JSON object")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_payment_request(self, body: dict[str, Any], idempotency_key: str, *,
                                not_found: type[Exception] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("POST", "/v3/payment_requests", json_body=body,
                                            idempotency_key=idempotency_key, not_found=not_found)
        if not _text(answer, "payment_request_id") or not isinstance(answer.get("status"), str):
            raise _bad_answer("no payment_request_id or status")
        return answer

    def _payment_request(self, payment_request_id: str) -> dict[str, Any] | None:
        if not REQUEST_ID.fullmatch(payment_request_id):
            return None
        try:
            answer: dict[str, Any] = self._call("GET", f"/v3/payment_requests/{payment_request_id}",
                                                not_found=_NotFound)
        except _NotFound:
            return None
        return answer

    # -- cards -----------------------------------------------------------------------------
    def _token(self, token: str) -> dict[str, Any]:
        if not TOKEN_ID.fullmatch(token):
            raise InvalidCardToken()
        answer: dict[str, Any] = self._call("GET", f"/v3/payment_tokens/{token}", not_found=InvalidCardToken)
        if answer.get("status") != "ACTIVE" or answer.get("channel_code") != CARDS:
            raise InvalidCardToken("The saved card is no longer active with Xendit.")
        return answer

    @measured("card_details")
    def card_details(self, token: str) -> CardDetails:
        props = self._token(token).get("channel_properties")
        card = props.get("card_details") if isinstance(props, dict) else None
        if not isinstance(card, dict):
            raise _bad_answer("the payment token has no card_details")
        masked, network = card.get("masked_card_number"), card.get("network")
        month, year = _amount(card.get("expiry_month")), _amount(card.get("expiry_year"))
        if not (isinstance(masked, str) and masked[-4:].isdigit() and masked[-4:].isascii()
                and month is not None and 1 <= month <= 12 and year is not None and 2000 <= year <= 2200):
            raise _bad_answer("the card details lack a masked number or expiry")
        brand = network.lower().replace("american_express", "amex") if isinstance(network, str) else "card"
        return CardDetails(brand=brand[:20], last4=masked[-4:], exp_month=month, exp_year=year)

    @measured("start_card_setup")
    def start_card_setup(self, *, reference: str, email: str, name: str, return_url: str,
                         cancel_url: str) -> CardSetup:
        """A SAVE payment session for cards on Xendit's hosted page (idempotent by `reference`)."""
        body: dict[str, Any] = {
            "reference_id": reference, "session_type": "SAVE", "mode": "PAYMENT_LINK", "amount": 0,
            "currency": "IDR", "country": COUNTRY,
            "customer": {"reference_id": reference, "type": "INDIVIDUAL", "email": email,
                         "individual_detail": {"given_names": (name.strip() or email)[:50]}},
            "allowed_payment_channels": [CARDS], "channel_properties": {"cards": {"card_on_file_type": "RECURRING"}},
            "success_return_url": return_url, "cancel_return_url": cancel_url}
        answer = self._call("POST", "/sessions", json_body=body, idempotency_key=reference)
        session_id, url = _text(answer, "payment_session_id", 80), _text(answer, "payment_link_url", 2000)
        if session_id is None or not SESSION_ID.fullmatch(session_id) \
                or url is None or not url.startswith(("https://", "http://")):
            raise _bad_answer("the session has no payment_session_id or payment_link_url")
        return CardSetup(session_id=session_id, kind=CardSetupKind.HOSTED, redirect_url=url)

    @measured("finish_card_setup")
    def finish_card_setup(self, session_id: str, returned: Mapping[str, str]) -> SavedCard:
        """The card the session saved, as Xendit says (what the browser brought back is not read)."""
        if not SESSION_ID.fullmatch(session_id):
            raise CardSetupIncomplete("Xendit knows no such card entry.")
        try:
            answer = self._call("GET", f"/sessions/{session_id}", not_found=_NotFound)
        except _NotFound:
            raise CardSetupIncomplete("Xendit knows no such card entry.") from None
        if answer.get("payment_session_id") != session_id or answer.get("session_type") != "SAVE":
            raise _bad_answer("the session read back is not the card setup asked about")
        status = answer.get("status")
        if status != "COMPLETED":
            raise CardSetupIncomplete(SESSION_ENDS.get(str(status), SESSION_ENDS["ACTIVE"]),
                                      code="card_setup_canceled" if status == "CANCELED" else
                                      "card_setup_expired" if status == "EXPIRED" else "card_setup_incomplete")
        token = answer.get("payment_token_id")
        if not isinstance(token, str) or not TOKEN_ID.fullmatch(token):
            raise _bad_answer("a completed SAVE session has no payment_token_id")
        return SavedCard(token=token, card=self.card_details(token))

    @measured("charge")
    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        """A merchant-initiated charge of a saved card (`card_on_file_type: RECURRING`, automatic capture)."""
        if not TOKEN_ID.fullmatch(token):
            raise InvalidCardToken()
        body: dict[str, Any] = {
            "reference_id": idempotency_key, "type": "PAY", "country": COUNTRY, "currency": currency,
            "request_amount": amount, "capture_method": "AUTOMATIC", "channel_code": CARDS,
            "payment_token_id": token, "channel_properties": {"card_on_file_type": "RECURRING"}}
        if description:
            body["description"] = description[:1000]
        try:
            answer = self._create_payment_request(body, idempotency_key, not_found=InvalidCardToken)
        except GatewayRefused as exc:
            if exc.code == "invalid_card_token":  # Xendit's INVALID_TOKEN: canceled or expired
                raise InvalidCardToken("The saved card is no longer valid; add the card again.") from None
            raise
        ref, status = answer["payment_request_id"], answer["status"]
        if status == "SUCCEEDED":
            return ChargeResult(True, ref)
        if status in PENDING_STATUSES:
            return ChargeResult(False, ref, pending=True)
        code, message = self._failure(answer)
        return ChargeResult(False, ref, code, message)

    @staticmethod
    def _failure(data: Mapping[str, Any]) -> tuple[str, str]:
        xendit_code, status = data.get("failure_code"), data.get("status")
        if isinstance(xendit_code, str) and xendit_code.strip() in FAILURES:
            return FAILURES[xendit_code.strip()]
        if isinstance(xendit_code, str) and re.fullmatch(r"[A-Z][A-Z0-9_]{0,60}", xendit_code):
            return xendit_code.lower(), f"The payment failed ({xendit_code})."
        if status == "EXPIRED":
            return FAILURES["PAYMENT_REQUEST_EXPIRED"]
        if status == "CANCELED":
            return "canceled", "The payment was canceled."
        return "payment_failed", "The payment failed."

    # -- virtual accounts and QRIS -----------------------------------------------------------
    @measured("create_virtual_account")
    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount:
        if bank not in BANKS:
            raise Unprocessable("invalid_bank", f"Bank must be one of {', '.join(BANKS)}.", param="bank")
        answer = self._create_payment_request(
            {"reference_id": reference, "type": "PAY", "country": COUNTRY, "currency": currency,
             "request_amount": amount, "channel_code": CHANNELS[bank],
             "channel_properties": {"display_name": self._va_display_name, "expires_at": _iso(expires_at)}},
            reference)
        number = _action(answer, "VIRTUAL_ACCOUNT_NUMBER")
        if number is None or not number.isdigit() or not number.isascii():
            raise _bad_answer("no VIRTUAL_ACCOUNT_NUMBER action")
        return VirtualAccount(bank=bank, va_number=number, expires_at=self._expiry(answer, expires_at),
                              provider_ref=answer["payment_request_id"])

    @measured("create_qris")
    def create_qris(self, *, reference: str, amount: int, currency: str, expires_at: datetime) -> QrCode:
        answer = self._create_payment_request(
            {"reference_id": reference, "type": "PAY", "country": COUNTRY, "currency": currency,
             "request_amount": amount, "channel_code": QRIS, "channel_properties": {"expires_at": _iso(expires_at)}},
            reference)
        qr = _action(answer, "QR_STRING")
        if qr is None:
            raise _bad_answer("no QR_STRING action")
        return QrCode(qr_string=qr, expires_at=self._expiry(answer, expires_at),
                      provider_ref=answer["payment_request_id"])

    @staticmethod
    def _expiry(answer: Mapping[str, Any], asked: datetime) -> datetime:
        props = answer.get("channel_properties")
        given = _time(props.get("expires_at")) if isinstance(props, dict) else None
        return given or asked

    # -- callbacks and status ------------------------------------------------------------------
    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification:
        token = next((v for k, v in headers.items() if k.lower() == CALLBACK_TOKEN_HEADER), None)
        if not token:
            raise InvalidSignature("The notification has no x-callback-token.")
        if not hmac.compare_digest(token.encode(), self._callback_token):
            raise InvalidSignature("The notification's x-callback-token is not this account's.")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidNotification("The notification body is not JSON.") from None
        event = payload.get("event") if isinstance(payload, dict) else None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(event, str) or not isinstance(data, dict):
            raise InvalidNotification("The notification must have an event and a data object.", param="event")
        if event.startswith(("payment_token.", "payment_session.")):
            return self._token_event(event, data)
        if event.startswith("refund."):
            return self._refund_event(event, data)
        if event == "payment_request.expiry":
            return self._expiry_event(event, data)
        if event in ("payment.capture", "payment.authorization", "payment.failure", "payment.expiry"):
            return self._payment_event(event, data)
        raise InvalidNotification(f"Xendit sends no {event[:60]!r} event for payments.", param="event")

    def _confirmed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The payment request the callback is about, as Xendit answers it now (never the body's word)."""
        pr_id = _text(data, "payment_request_id", 80)
        if pr_id is None:
            raise InvalidNotification("The notification names no payment_request_id.", param="data.payment_request_id")
        answer = self._payment_request(pr_id)
        if answer is None:
            raise InvalidNotification("Xendit knows no payment request by that id.", param="data.payment_request_id")
        for key in ("reference_id", "currency"):
            if key in data and data.get(key) != answer.get(key):
                raise InvalidNotification(f"The notification's {key} differs from Xendit's payment request.",
                                          param=f"data.{key}")
        currency = answer.get("currency")
        if (_text(answer, "reference_id") is None or _amount(answer.get("request_amount")) is None
                or not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency)):
            raise _bad_answer("the payment request has no reference_id, request_amount or currency")
        return answer

    def _payment_event(self, event: str, data: Mapping[str, Any]) -> Notification:
        payment_id = _text(data, "payment_id", 80)
        if payment_id is None:
            raise InvalidNotification("The notification names no payment_id.", param="data.payment_id")
        pr = self._confirmed(data)
        event_id = f"{payment_id}:{event}"
        status = pr.get("status")
        if event == "payment.capture":
            if status != "SUCCEEDED":
                raise InvalidNotification("Xendit does not confirm the capture yet; the retry will.",
                                          param="data.status")
            captures = data.get("captures")
            captured = (sum(_amount(c.get("capture_amount")) or 0 for c in captures if isinstance(c, dict))
                        if isinstance(captures, list) and captures else _amount(data.get("request_amount")))
            if captured != _amount(pr.get("request_amount")):
                raise InvalidNotification("The notification's amount differs from what Xendit captured.",
                                          param="data.captures")
        elif status == "SUCCEEDED" or status in PENDING_STATUSES:
            # an earlier attempt failed (or an authorization expired) while the payment request is paid
            # or still open: nothing to apply (Xendit documents out-of-order delivery)
            return self._note(pr, event_id, Outcome.PENDING)
        return self._from_status(pr, event_id)

    def _expiry_event(self, event: str, data: Mapping[str, Any]) -> Notification:
        pr = self._confirmed(data)
        event_id = f"{pr['payment_request_id']}:{event}"
        if pr.get("status") == "EXPIRED":
            return self._from_status(pr, event_id)
        if pr.get("status") == "SUCCEEDED":  # paid at the last moment: the capture decides
            return self._note(pr, event_id, Outcome.PENDING)
        raise InvalidNotification("Xendit does not confirm the expiry yet; the retry will.", param="data.status")

    def _token_event(self, event: str, data: Mapping[str, Any]) -> Notification:
        """Saved cards arrive with the payment that saved them (PAY_AND_SAVE capture), or are read when the
        customer comes back from a card setup (a SAVE session, `finish_card_setup`): nothing to apply."""
        key = "payment_session_id" if event.startswith("payment_session.") else "payment_token_id"
        token = _text(data, key, 80)
        if token is None:
            raise InvalidNotification(f"The notification names no {key}.", param=f"data.{key}")
        currency = data.get("currency") if isinstance(data.get("currency"), str) else "IDR"
        return Notification(event_id=f"{token}:{event}", outcome=Outcome.PENDING, amount=0,
                            currency=str(currency)[:3], provider_ref=token)

    def _refund_event(self, event: str, data: Mapping[str, Any]) -> Notification:
        if isinstance(data.get("data"), dict) and "event" in data:  # the docs' example nests it once more
            data = data["data"]
        refund_id, amount = _text(data, "id", 80), _amount(data.get("amount"))
        if refund_id is None or amount is None or not isinstance(data.get("currency"), str):
            raise InvalidNotification("The refund notification lacks id, amount or currency.", param="data")
        pr = self._payment_request(str(data.get("payment_request_id") or ""))
        if pr is None:
            raise InvalidNotification("Xendit knows no payment request by that id.", param="data.payment_request_id")
        outcome = Outcome.REFUNDED if event == "refund.succeeded" else Outcome.PENDING
        return Notification(event_id=f"{refund_id}:{event}", outcome=outcome, amount=amount,
                            currency=str(data["currency"]), provider_ref=pr["payment_request_id"],
                            reference=_text(pr, "reference_id"))

    def _from_status(self, pr: Mapping[str, Any], event_id: str) -> Notification:
        status = pr.get("status")
        if status == "SUCCEEDED":
            return self._note(pr, event_id, Outcome.PAID, saved_card=self._saved_card(pr))
        if status == "EXPIRED":
            return self._note(pr, event_id, Outcome.EXPIRED)
        if status in ("FAILED", "CANCELED"):
            code, message = self._failure(pr)
            return self._note(pr, event_id, Outcome.FAILED, failure_code=code, failure_message=message)
        if status in PENDING_STATUSES:
            return self._note(pr, event_id, Outcome.PENDING)
        raise _bad_answer(f"unknown payment request status {str(status)[:40]!r}")

    @staticmethod
    def _note(pr: Mapping[str, Any], event_id: str, outcome: Outcome, **extra: Any) -> Notification:
        return Notification(event_id=event_id, outcome=outcome, amount=_amount(pr.get("request_amount")) or 0,
                            currency=str(pr.get("currency")), provider_ref=str(pr["payment_request_id"]),
                            reference=_text(pr, "reference_id"), va_number=_action(pr, "VIRTUAL_ACCOUNT_NUMBER"),
                            **extra)

    def _saved_card(self, pr: Mapping[str, Any]) -> SavedCard | None:
        """The card a PAY_AND_SAVE payment kept (a charge of an already saved token keeps nothing new)."""
        token = pr.get("payment_token_id")
        if pr.get("type") != "PAY_AND_SAVE" or not isinstance(token, str):
            return None
        try:
            return SavedCard(token=token, card=self.card_details(token))
        except InvalidCardToken:
            return None

    @measured("status")
    def status(self, reference: str) -> Notification | None:
        """Xendit's payment request sent as `reference` (the paid one if several), as a Notification whose
        event id is the one the matching callback carries."""
        answer = self._call("GET", "/v3/payment_requests", params={"reference_id": reference, "limit": "10"})
        found = [pr for pr in answer.get("data") or () if isinstance(pr, dict)
                 and pr.get("reference_id") == reference and _text(pr, "payment_request_id", 80)]
        if not found:
            return None
        pr = next((p for p in found if p.get("status") == "SUCCEEDED"),
                  max(found, key=lambda p: str(p.get("created") or "")))
        pr_id, status = pr["payment_request_id"], pr.get("status")
        payment_id = _text(pr, "latest_payment_id", 80) or pr_id
        event_id = {"SUCCEEDED": f"{payment_id}:payment.capture", "FAILED": f"{payment_id}:payment.failure",
                    "EXPIRED": f"{pr_id}:payment_request.expiry"}.get(str(status), f"{pr_id}:{str(status).lower()}")
        if _amount(pr.get("request_amount")) is None:
            raise _bad_answer("the payment request has no request_amount")
        return self._from_status(pr, event_id)

    # -- refunds -------------------------------------------------------------------------------
    @measured("refund")
    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        if not REQUEST_ID.fullmatch(provider_ref):
            raise GatewayRefused("not_found", "Xendit knows no such payment.")
        code = reason.strip().upper().replace(" ", "_")
        answer = self._call("POST", "/refunds", idempotency_key=idempotency_key, json_body={
            "payment_request_id": provider_ref, "reference_id": idempotency_key, "currency": currency,
            "amount": amount, "reason": code if code in REFUND_REASONS else "OTHERS",
            "metadata": {"langganan_payment": reference[:500], "reason": reason[:500]}})
        refund_id, status = _text(answer, "id", 80), answer.get("status")
        if refund_id is None:
            raise _bad_answer("the refund has no id")
        if status == "SUCCEEDED":
            return RefundResult(True, refund_id)
        if status == "PENDING":
            return RefundResult(False, refund_id, pending=True)
        failure = answer.get("failure_code")
        return RefundResult(False, refund_id, failure_code=str(failure or "refund_failed").lower()[:60],
                            failure_message="Xendit could not refund the payment.")
