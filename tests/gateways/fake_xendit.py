"""A local HTTP server that speaks Xendit's Payments API v3 as documented, field by field, for tests.

It checks what Xendit checks (Basic auth with the secret key, `api-version`, an `idempotency-key` on
creates, required fields and their types, channel codes, amounts), answers with Xendit's shapes
(`payment_request_id`, `status`, `actions`), keeps its state in memory so GETs tell the truth, and
builds the webhooks Xendit would send. Payment sessions (`POST /sessions`, `GET /sessions/{id}`) come with
the hosted page at `payment_link_url` (`/checkout/{id}`): a small HTML card form which, submitted, keeps a
card token, completes the session and sends the browser to `success_return_url`. Tests script faults: the
next calls time out (the server sleeps past the client's timeout, before or after doing the work) or answer 500.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2024-11-11"
BUSINESS_ID = "5f27a14a9bf05c73dd040bc8"
VA_CHANNELS = {"BCA_VIRTUAL_ACCOUNT": "39358", "BNI_VIRTUAL_ACCOUNT": "8808", "BRI_VIRTUAL_ACCOUNT": "26215",
               "MANDIRI_VIRTUAL_ACCOUNT": "88608", "PERMATA_VIRTUAL_ACCOUNT": "8625"}
VA_LIMITS = (10_000, 50_000_000)  # Xendit's documented BCA VA min/max; applied to every bank here
QRIS_LIMITS = (1, 10_000_000)
CREATE_FIELDS = {"reference_id", "type", "country", "currency", "request_amount", "capture_method", "channel_code",
                 "channel_properties", "payment_token_id", "description", "metadata", "customer_id", "customer",
                 "items", "shipping_information"}
SESSION_FIELDS = {"reference_id", "session_type", "mode", "amount", "currency", "country", "customer", "customer_id",
                  "channel_properties", "allowed_payment_channels", "success_return_url", "cancel_return_url",
                  "description", "metadata", "items", "locale", "expires_at", "allow_save_payment_method"}
REFUND_FIELDS = {"payment_request_id", "reference_id", "currency", "amount", "reason", "metadata"}
REFUND_REASONS = {"FRAUDULENT", "DUPLICATE", "REQUESTED_BY_CUSTOMER", "CANCELLATION", "OTHERS"}
CARD_ON_FILE = {"CUSTOMER_UNSCHEDULED", "RECURRING", "MERCHANT_UNSCHEDULED"}
# Test cards: what a charge of a token saved from each number does.
CARD_OUTCOMES: dict[str, tuple[str, str | None]] = {
    "4242424242424242": ("SUCCEEDED", None),
    "5555555555554444": ("SUCCEEDED", None),
    "4000000000000002": ("FAILED", "CARD_DECLINED"),
    "4000000000009995": ("FAILED", "INSUFFICIENT_BALANCE"),
    "4000000000003220": ("REQUIRES_ACTION", None),  # 3DS asked: pending until a webhook
}
NETWORKS = {"4": "VISA", "5": "MASTERCARD", "3": "JCB"}
# What card verification says when a card is saved on the hosted page (a SAVE session checks the card).
SAVE_REFUSED = {"4000000000000002": "The card was declined by the issuer.",
                "4000000000009995": "The card was declined by the issuer."}


class XenditError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise XenditError(400, "API_VALIDATION_ERROR", message)


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and value == int(value)


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    kind: str  # "timeout" (sleep, do nothing), "late" (do the work, then sleep), "500"
    method: str | None = None


@dataclass
class State:
    payment_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


class FakeXendit:
    """Start with `start()` (or as a context manager); `url` is its base URL."""

    def __init__(self, secret_key: str, callback_token: str, *, fault_sleep: float = 1.0) -> None:
        self.secret_key, self.callback_token, self.fault_sleep = secret_key, callback_token, fault_sleep
        self.state = State()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeXendit:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeXendit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting ------------------------------------------------------------------------------
    def fail_next(self, count: int, kind: str, method: str | None = None) -> None:
        with self.lock:
            self.state.faults.extend(Fault(kind, method) for _ in range(count))

    @property
    def calls(self) -> list[Call]:
        with self.lock:
            return list(self.state.calls)

    def save_card(self, number: str, exp_month: int, exp_year: int, *, status: str = "ACTIVE") -> str:
        """A card token as Xendit keeps it after the customer saved the card (tokenisation is the
        customer's browser talking to Xendit, so tests put it straight into the state)."""
        token_id = f"pt-{uuid.uuid4()}"
        with self.lock:
            self.state.tokens[token_id] = {
                "payment_token_id": token_id, "business_id": BUSINESS_ID, "reference_id": f"tok-{token_id[3:11]}",
                "customer_id": f"cust-{uuid.uuid4()}", "country": "ID", "currency": "IDR", "channel_code": "CARDS",
                "channel_properties": {"card_details": {
                    "masked_card_number": number[:6] + "*" * (len(number) - 10) + number[-4:],
                    "expiry_month": f"{exp_month:02d}", "expiry_year": str(exp_year), "type": "CREDIT",
                    "network": NETWORKS.get(number[0], "VISA"), "country": "ID", "fingerprint": secrets.token_hex(12),
                    "cardholder_first_name": "Test", "cardholder_last_name": "Customer"}},
                "status": status, "created": _now(), "updated": _now(), "_number": number}
        return token_id

    def session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self.state.sessions[session_id])

    def complete_session(self, session_id: str, number: str, exp_month: int, exp_year: int) -> str:
        """The customer saves a card on the session's hosted page (what submitting its form does): the
        session COMPLETED with a new payment token, whose id is returned."""
        token_id = self.save_card(number, exp_month, exp_year)
        with self.lock:
            session = self.state.sessions[session_id]
            assert session["status"] == "ACTIVE", session["status"]
            self.state.tokens[token_id]["customer_id"] = session["customer_id"]
            session.update(status="COMPLETED", payment_token_id=token_id, updated=_now())
        return token_id

    def end_session(self, session_id: str, status: str) -> None:
        """The session EXPIRED (its expires_at passed) or was CANCELED."""
        with self.lock:
            self.state.sessions[session_id].update(status=status, updated=_now())

    def by_reference(self, reference: str) -> dict[str, Any]:
        with self.lock:
            found = [pr for pr in self.state.payment_requests.values() if pr["reference_id"] == reference]
        assert found, f"no payment request with reference_id {reference!r}"
        return found[-1]

    def capture(self, reference: str, amount: int | None = None) -> dict[str, Any]:
        """The customer pays the payment request sent as `reference`: the request SUCCEEDED, a payment with
        one capture; returns the `payment.capture` webhook body."""
        pr = self.by_reference(reference)
        with self.lock:
            payment = self._new_payment(pr, "SUCCEEDED", amount=pr["request_amount"] if amount is None else amount)
            pr.update(status="SUCCEEDED", updated=_now())
        return self.webhook("payment.capture", payment)

    def pay_and_save(self, reference: str, amount: int, number: str, exp_month: int, exp_year: int) -> dict[str, Any]:
        """A customer pays a PAY_AND_SAVE card checkout (card entry happens between the customer and Xendit):
        the request SUCCEEDED and a payment token was made; returns the `payment.capture` webhook body."""
        token_id = self.save_card(number, exp_month, exp_year)
        pr_id = f"pr-{uuid.uuid4()}"
        with self.lock:
            pr: dict[str, Any] = {
                "business_id": BUSINESS_ID, "reference_id": reference, "payment_request_id": pr_id,
                "payment_token_id": token_id, "type": "PAY_AND_SAVE", "country": "ID", "currency": "IDR",
                "request_amount": amount, "capture_method": "AUTOMATIC", "channel_code": "CARDS",
                "channel_properties": {}, "actions": [], "status": "SUCCEEDED", "created": _now(), "updated": _now()}
            self.state.payment_requests[pr_id] = pr
            payment = self._new_payment(pr, "SUCCEEDED", amount=amount)
        return self.webhook("payment.capture", payment)

    def fail_attempt(self, reference: str, failure_code: str, *, final: bool) -> dict[str, Any]:
        """One payment attempt fails; the request FAILED too when `final` (else it stays open)."""
        pr = self.by_reference(reference)
        with self.lock:
            payment = self._new_payment(pr, "FAILED", amount=pr["request_amount"], failure_code=failure_code)
            if final:
                pr.update(status="FAILED", failure_code=failure_code, updated=_now())
        return self.webhook("payment.failure", payment)

    def expire(self, reference: str) -> dict[str, Any]:
        pr = self.by_reference(reference)
        with self.lock:
            pr.update(status="EXPIRED", updated=_now())
            data = {k: v for k, v in pr.items() if not k.startswith("_")}
        return self.webhook("payment_request.expiry", data)

    def settle_refund(self, refund_id: str, *, succeeded: bool = True) -> dict[str, Any]:
        with self.lock:
            refund = self.state.refunds[refund_id]
            refund.update(status="SUCCEEDED" if succeeded else "FAILED", updated=_now(),
                          failure_code=None if succeeded else "REFUND_FAILED")
        return self.webhook("refund.succeeded" if succeeded else "refund.failed", dict(refund))

    def webhook(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"event": event, "business_id": BUSINESS_ID, "created": _now(), "data": data}

    def headers(self) -> dict[str, str]:
        return {"x-callback-token": self.callback_token, "content-type": "application/json"}

    def _new_payment(self, pr: dict[str, Any], status: str, *, amount: int,
                     failure_code: str | None = None) -> dict[str, Any]:
        payment_id = f"py-{uuid.uuid4()}"
        payment: dict[str, Any] = {
            "payment_id": payment_id, "business_id": BUSINESS_ID, "reference_id": pr["reference_id"],
            "payment_request_id": pr["payment_request_id"], "type": pr["type"], "country": pr["country"],
            "currency": pr["currency"], "request_amount": pr["request_amount"], "capture_method": "AUTOMATIC",
            "channel_code": pr["channel_code"], "status": status, "created": _now(), "updated": _now()}
        if pr.get("payment_token_id"):
            payment["payment_token_id"] = pr["payment_token_id"]
        if status == "SUCCEEDED":
            payment["captures"] = [{"capture_id": f"cap-{uuid.uuid4()}", "capture_amount": amount,
                                    "capture_timestamp": _now()}]
        if failure_code:
            payment["failure_code"] = failure_code
        self.state.payments[payment_id] = payment
        pr["latest_payment_id"] = payment_id
        return payment

    # -- HTTP ---------------------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        raw = req.rfile.read(int(req.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in req.headers.items()}
        if urlsplit(req.path).path.startswith("/checkout/"):  # the hosted page: the customer's browser, no key
            with self.lock:
                self.state.calls.append(Call(method, req.path, headers, None))
            self._checkout(req, method, urlsplit(req.path).path.removeprefix("/checkout/"), raw)
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        with self.lock:
            self.state.calls.append(Call(method, req.path, headers, body))
            fault = next((f for f in self.state.faults if f.method in (None, method)), None)
            if fault is not None:
                self.state.faults.remove(fault)
        if fault is not None and fault.kind == "timeout":
            time.sleep(self.fault_sleep)
            return
        if fault is not None and fault.kind == "500":
            self._send(req, 500, {"error_code": "SERVER_ERROR", "message": "An unexpected error occured."})
            return
        try:
            status, answer = self._route(method, req.path, headers, body)
        except XenditError as exc:
            status, answer = exc.status, {"error_code": exc.code, "message": exc.message}
        if fault is not None and fault.kind == "late":
            time.sleep(self.fault_sleep)
        self._send(req, status, answer)

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        try:
            req.send_response(status)
            req.send_header("content-type", "application/json")
            req.send_header("content-length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except OSError:
            pass  # the client gave up (a scripted timeout)

    def _route(self, method: str, target: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{self.secret_key}:".encode()).decode()
        if headers.get("authorization") != expected:
            raise XenditError(401, "INVALID_API_KEY", "API key is not authorized for this API service")
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query)
        if path.startswith("/v3/") and headers.get("api-version") != API_VERSION:
            raise XenditError(400, "API_VALIDATION_ERROR", f"api-version must be {API_VERSION}")
        with self.lock:
            if method == "POST" and path == "/v3/payment_requests":
                return self._idempotent(path, headers, body, self._create_payment_request)
            if method == "POST" and path == "/refunds":
                return self._idempotent(path, headers, body, self._create_refund)
            if method == "POST" and path == "/sessions":
                return self._idempotent(path, headers, body, self._create_session)
            if method == "GET" and path.startswith("/sessions/"):
                session = self.state.sessions.get(path.rsplit("/", 1)[1])
                if session is None:
                    raise XenditError(404, "DATA_NOT_FOUND", "Payment session not found")
                return 200, self._public(session)
            if method == "GET" and path == "/v3/payment_requests":
                reference = (query.get("reference_id") or [""])[0]
                _require(bool(reference), "reference_id is required")
                found = [self._public(pr) for pr in self.state.payment_requests.values()
                         if pr["reference_id"] == reference]
                return 200, {"data": found, "has_more": False}
            if method == "GET" and path.startswith("/v3/payment_requests/"):
                pr = self.state.payment_requests.get(path.rsplit("/", 1)[1])
                if pr is None:
                    raise XenditError(404, "DATA_NOT_FOUND", "Payment request not found")
                return 200, self._public(pr)
            if method == "GET" and path.startswith("/v3/payment_tokens/"):
                token = self.state.tokens.get(path.rsplit("/", 1)[1])
                if token is None:
                    raise XenditError(404, "DATA_NOT_FOUND", "Payment token not found")
                return 200, self._public(token)
        raise XenditError(404, "NOT_FOUND", f"No route {method} {path}")

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps({k: v for k, v in obj.items() if not k.startswith("_")}))

    def _idempotent(self, path: str, headers: dict[str, str], body: Any, create: Any) -> tuple[int, dict[str, Any]]:
        key = headers.get("idempotency-key")
        _require(bool(key), "idempotency-key header is required")
        assert key is not None
        fingerprint = json.dumps(body, sort_keys=True)
        seen = self.state.idempotency.get((path, key))
        if seen is not None:
            if seen[0] != fingerprint:
                raise XenditError(409, "DUPLICATE_ERROR", "The idempotency-key was used for a different request")
            return seen[1], json.loads(json.dumps(seen[2]))
        status, answer = create(body)
        self.state.idempotency[(path, key)] = (fingerprint, status, answer)
        return status, json.loads(json.dumps(answer))

    def _create_payment_request(self, body: Any) -> tuple[int, dict[str, Any]]:
        _require(isinstance(body, dict), "the body must be a JSON object")
        unknown = set(body) - CREATE_FIELDS
        _require(not unknown, f"unknown fields: {sorted(unknown)}")
        ref = body.get("reference_id")
        _require(isinstance(ref, str) and 1 <= len(ref) <= 255, "reference_id must be a string of 1 to 255")
        _require(body.get("type") == "PAY", "type must be PAY")
        _require(body.get("country") == "ID", "country must be ID")
        _require(body.get("currency") == "IDR", "currency must be IDR for country ID")
        _require(_is_amount(body.get("request_amount")), "request_amount must be a positive whole number for IDR")
        _require(body.get("capture_method", "AUTOMATIC") in ("AUTOMATIC", "MANUAL"), "capture_method is invalid")
        if "description" in body:
            desc = body["description"]
            _require(isinstance(desc, str) and 1 <= len(desc) <= 1000, "description must be 1 to 1000 characters")
        channel, props = body.get("channel_code"), body.get("channel_properties")
        _require(isinstance(channel, str), "channel_code is required")
        amount = int(body["request_amount"])
        pr_id = f"pr-{uuid.uuid4()}"
        pr: dict[str, Any] = {
            "business_id": BUSINESS_ID, "reference_id": ref, "payment_request_id": pr_id, "type": "PAY",
            "country": "ID", "currency": "IDR", "request_amount": amount,
            "capture_method": body.get("capture_method", "AUTOMATIC"), "channel_code": channel,
            "channel_properties": props, "actions": [], "status": "REQUIRES_ACTION", "created": _now(),
            "updated": _now()}
        if "description" in body:
            pr["description"] = body["description"]
        if "payment_token_id" in body:
            status = self._pay_with_token(body, pr)
        elif channel in VA_CHANNELS:
            _require(isinstance(props, dict) and set(props) <= {"display_name", "expires_at"},
                     "channel_properties for a virtual account take display_name and expires_at")
            _require(isinstance(props.get("display_name"), str) and 1 <= len(props["display_name"]) <= 255,
                     "channel_properties.display_name is required")
            _require(_is_time(props.get("expires_at")), "channel_properties.expires_at must be an ISO 8601 time")
            if not VA_LIMITS[0] <= amount <= VA_LIMITS[1]:
                raise XenditError(400, "INVALID_VALUE_ERROR", "request_amount is outside the channel's limits")
            prefix = VA_CHANNELS[channel]
            number = prefix + str(secrets.randbelow(10 ** (16 - len(prefix)))).zfill(16 - len(prefix))
            pr["actions"] = [{"type": "PRESENT_TO_CUSTOMER", "descriptor": "VIRTUAL_ACCOUNT_NUMBER", "value": number}]
            status = 201
        elif channel == "QRIS":
            _require(isinstance(props, dict) and set(props) <= {"expires_at"}, "QRIS channel_properties: expires_at")
            _require(_is_time(props.get("expires_at")), "channel_properties.expires_at must be an ISO 8601 time")
            if not QRIS_LIMITS[0] <= amount <= QRIS_LIMITS[1]:
                raise XenditError(400, "INVALID_VALUE_ERROR", "request_amount is outside the channel's limits")
            merchant = "ID.CO.XENDIT.WWW"
            payload = (f"000201010212" f"26{len(merchant) + 4:02d}0016{merchant}" f"5303360"
                       f"54{len(str(amount)):02d}{amount}" f"5802ID" f"6304")
            pr["actions"] = [{"type": "PRESENT_TO_CUSTOMER", "descriptor": "QR_STRING",
                              "value": payload + secrets.token_hex(2).upper()}]
            status = 201
        else:
            raise XenditError(400, "API_VALIDATION_ERROR", f"channel_code {channel} is not available")
        self.state.payment_requests[pr_id] = pr
        return status, pr

    def _pay_with_token(self, body: dict[str, Any], pr: dict[str, Any]) -> int:
        token = self.state.tokens.get(body["payment_token_id"])
        if token is None:
            raise XenditError(404, "DATA_NOT_FOUND", "payment_token_id not found")
        if token["status"] != "ACTIVE":
            raise XenditError(400, "INVALID_TOKEN", "The payment token has expired or been cancelled")
        _require(body.get("channel_code") == token["channel_code"], "channel_code must match the payment token")
        props = body.get("channel_properties", {})
        _require(isinstance(props, dict), "channel_properties must be an object")
        _require(props.get("card_on_file_type", "RECURRING") in CARD_ON_FILE, "card_on_file_type is invalid")
        ref = body["reference_id"]
        _require(not any(p["reference_id"] == ref and p["channel_code"] == "CARDS"
                         for p in self.state.payment_requests.values()),
                 "reference_id must be unique for CARDS")  # Xendit: unique reference ids for cards
        pr["payment_token_id"] = token["payment_token_id"]
        outcome, failure = CARD_OUTCOMES.get(token["_number"], ("SUCCEEDED", None))
        pr["status"] = outcome
        if outcome == "SUCCEEDED":
            self._new_payment(pr, "SUCCEEDED", amount=pr["request_amount"])
        elif outcome == "FAILED":
            pr["failure_code"] = failure
            self._new_payment(pr, "FAILED", amount=pr["request_amount"], failure_code=failure)
        else:
            pr["actions"] = [{"type": "REDIRECT_CUSTOMER", "descriptor": "WEB_URL",
                              "value": f"https://redirect.xendit.test/3ds/{pr['payment_request_id']}"}]
        return 201

    def _create_session(self, body: Any) -> tuple[int, dict[str, Any]]:
        _require(isinstance(body, dict), "the body must be a JSON object")
        unknown = set(body) - SESSION_FIELDS
        _require(not unknown, f"unknown fields: {sorted(unknown)}")
        ref = body.get("reference_id")
        _require(isinstance(ref, str) and 1 <= len(ref) <= 64, "reference_id must be a string of 1 to 64")
        kind = body.get("session_type")
        _require(kind in ("PAY", "SAVE"), "session_type must be PAY or SAVE")
        _require(body.get("mode") == "PAYMENT_LINK", "mode: this fake serves PAYMENT_LINK sessions only")
        _require(body.get("country") == "ID", "country must be ID")
        _require(body.get("currency") == "IDR", "currency must be IDR for country ID")
        amount = body.get("amount")
        if kind == "SAVE":
            _require(type(amount) is int and amount == 0, "amount must be 0 for a SAVE session")
        else:
            _require(_is_amount(amount), "amount must be a positive whole number for IDR")
        customer = body.get("customer")
        if "customer_id" not in body:
            _require(isinstance(customer, dict), "customer or customer_id is required")
            assert isinstance(customer, dict)
            _require(isinstance(customer.get("reference_id"), str) and 1 <= len(customer["reference_id"]) <= 255,
                     "customer.reference_id is required")
            _require(customer.get("type") == "INDIVIDUAL", "customer.type must be INDIVIDUAL")
            email = customer.get("email")
            _require(isinstance(email, str) and "@" in email, "customer.email must be an email address")
            detail = customer.get("individual_detail")
            _require(isinstance(detail, dict) and isinstance(detail.get("given_names"), str)
                     and 1 <= len(detail["given_names"]) <= 50, "customer.individual_detail.given_names is required")
        channels = body.get("allowed_payment_channels")
        if channels is not None:
            _require(isinstance(channels, list) and channels and all(isinstance(c, str) for c in channels),
                     "allowed_payment_channels must be a list of channel codes")
        _require(channels == ["CARDS"], "allowed_payment_channels: this fake's hosted page takes cards only")
        props = body.get("channel_properties", {})
        _require(isinstance(props, dict), "channel_properties must be an object")
        cards = props.get("cards", {})
        _require(isinstance(cards, dict) and cards.get("card_on_file_type", "RECURRING") in CARD_ON_FILE,
                 "channel_properties.cards.card_on_file_type is invalid")
        for key in ("success_return_url", "cancel_return_url"):
            url = body.get(key)
            _require(isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 1000,
                     f"{key} must be a URL")
        session_id = "ps-" + secrets.token_hex(12)
        session: dict[str, Any] = {
            "payment_session_id": session_id, "created": _now(), "updated": _now(), "reference_id": ref,
            "customer_id": body.get("customer_id") or f"cust-{uuid.uuid4()}", "session_type": kind,
            "currency": "IDR", "amount": amount, "country": "ID", "mode": "PAYMENT_LINK",
            "channel_properties": props, "allowed_payment_channels": channels,
            "expires_at": (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "locale": "en", "success_return_url": body["success_return_url"],
            "cancel_return_url": body["cancel_return_url"], "status": "ACTIVE",
            "payment_link_url": f"{self.url}/checkout/{session_id}", "payment_token_id": None,
            "payment_request_id": None, "business_id": BUSINESS_ID}
        self.state.sessions[session_id] = session
        return 201, session

    # -- the hosted page --------------------------------------------------------------------------------
    def _checkout(self, req: BaseHTTPRequestHandler, method: str, session_id: str, raw: bytes) -> None:
        with self.lock:
            session = self.state.sessions.get(session_id)
            session = dict(session) if session is not None else None
        if session is None or session["status"] != "ACTIVE":
            self._page(req, 404, "<h1>This link is no longer active</h1>")
            return
        if method == "GET":
            self._page(req, 200, self._card_form(session, None))
            return
        form = {k: v[0].strip() for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        number = form.get("card_number", "").replace(" ", "")
        month, year, cvn = form.get("expiry_month", ""), form.get("expiry_year", ""), form.get("cvn", "")
        now = datetime.now(UTC)
        problem = None
        if not (number.isascii() and number.isdigit() and 12 <= len(number) <= 19 and _luhn(number)):
            problem = "The card number is not valid."
        elif not (month.isascii() and month.isdigit() and 1 <= int(month) <= 12 and year.isascii()
                  and year.isdigit() and len(year) == 4):
            problem = "The expiry date is not valid."
        elif (int(year), int(month)) < (now.year, now.month):
            problem = "The card has expired."
        elif not (cvn.isascii() and cvn.isdigit() and len(cvn) in (3, 4)):
            problem = "The CVN is 3 or 4 digits."
        elif number in SAVE_REFUSED:
            problem = SAVE_REFUSED[number]
        if problem is not None:
            self._page(req, 200, self._card_form(session, problem))
            return
        self.complete_session(session_id, number, int(month), int(year))
        self._send_raw(req, 303, b"", {"location": session["success_return_url"]})

    @staticmethod
    def _card_form(session: dict[str, Any], problem: str | None) -> str:
        esc = html.escape
        error = f'<p role="alert">{esc(problem)}</p>' if problem else ""
        return (f"<h1>Save your card</h1><p>Xendit (local fake) · {esc(session['reference_id'])}</p>{error}"
                f'<form method="post" action="/checkout/{esc(session["payment_session_id"])}">'
                '<p><label for="card_number">Card number</label> <input id="card_number" name="card_number" '
                'inputmode="numeric" autocomplete="cc-number"></p>'
                '<p><label for="expiry_month">Expiry month</label> <input id="expiry_month" name="expiry_month"></p>'
                '<p><label for="expiry_year">Expiry year</label> <input id="expiry_year" name="expiry_year"></p>'
                '<p><label for="cvn">CVN</label> <input id="cvn" name="cvn" inputmode="numeric"></p>'
                '<p><button type="submit">Save card</button></p></form>'
                f'<p><a href="{esc(session["cancel_return_url"])}">Cancel</a></p>')

    def _page(self, req: BaseHTTPRequestHandler, status: int, body: str) -> None:
        doc = f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Xendit</title></head><body>{body}' \
              "</body></html>"
        self._send_raw(req, status, doc.encode(), {"content-type": "text/html; charset=utf-8"})

    @staticmethod
    def _send_raw(req: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            req.send_response(status)
            for name, value in headers.items():
                req.send_header(name, value)
            req.send_header("content-length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except OSError:
            pass

    def _create_refund(self, body: Any) -> tuple[int, dict[str, Any]]:
        _require(isinstance(body, dict), "the body must be a JSON object")
        unknown = set(body) - REFUND_FIELDS
        _require(not unknown, f"unknown fields: {sorted(unknown)}")
        _require(isinstance(body.get("payment_request_id"), str), "payment_request_id is required")
        _require(body.get("reason") in REFUND_REASONS, "reason must be one of " + ", ".join(sorted(REFUND_REASONS)))
        pr = self.state.payment_requests.get(body["payment_request_id"])
        if pr is None:
            raise XenditError(404, "DATA_NOT_FOUND", "Payment request not found")
        if pr["status"] != "SUCCEEDED":
            raise XenditError(400, "INELIGIBLE_TRANSACTION_STATUS", "Only a SUCCEEDED payment can be refunded")
        if pr["channel_code"] in VA_CHANNELS:
            raise XenditError(403, "REFUND_NOT_SUPPORTED", "Refund is not available for this channel")
        if "currency" in body:
            _require(body["currency"] == pr["currency"], "currency must be the payment's")
        refunded = sum(r["amount"] for r in self.state.refunds.values()
                       if r["payment_request_id"] == pr["payment_request_id"] and r["status"] != "FAILED")
        left = pr["request_amount"] - refunded
        amount = body.get("amount", left)
        _require(_is_amount(amount), "amount must be a positive whole number")
        if amount > left:
            raise XenditError(400, "REFUND_AMOUNT_EXCEEDED", "Refund amount exceeds the unrefunded capture amount")
        refund_id = f"rfd-{uuid.uuid4()}"
        refund = {"id": refund_id, "payment_request_id": pr["payment_request_id"],
                  "payment_id": pr.get("latest_payment_id"), "invoice_id": None, "payment_method_type": "CARD",
                  "reference_id": body.get("reference_id"), "channel_code": pr["channel_code"],
                  "currency": pr["currency"], "amount": int(amount), "status": "PENDING", "reason": body["reason"],
                  "failure_code": None, "refund_fee_amount": None, "metadata": body.get("metadata"),
                  "created": _now(), "updated": _now()}
        self.state.refunds[refund_id] = refund
        return 200, refund


def _luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch) * (2 if i % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


@contextmanager
def running(secret_key: str, callback_token: str, **kwargs: Any) -> Iterator[FakeXendit]:
    fake = FakeXendit(secret_key, callback_token, **kwargs).start()
    try:
        yield fake
    finally:
        fake.close()
