"""A local Midtrans Core API (tests only): a real HTTP server on 127.0.0.1 that checks each request field
by field as Midtrans documents it and answers as Midtrans does.

What it speaks: `POST /v2/charge` (bank_transfer bca/bni/bri/permata, echannel, qris, credit_card with a
saved token), `GET /v2/{order_id}/status`, `POST /v2/{order_id}/refund`, and `GET /v2/card/register` (what
the customer's browser calls with the client key, from a page served by another origin: as JSONP when the
query names a `callback`, the answer then always HTTP 200 with the status in the body, else as JSON with
`Access-Control-Allow-Origin: *`). Requests need HTTP Basic auth with the
server key as user name and an empty password. Like Midtrans, it answers some errors with HTTP 200 and the
error in the body's `status_code` (a duplicate order id: "406"; an unknown saved token: "411"; a refund it
cannot make: "412"), and others with the HTTP status too (400, 401, 404).

It keeps every transaction in memory (order id → state), so the status API tells the truth, and lets a test
move money (`settle`, `expire`, `deny`), sign the notification Midtrans would POST (`notification`), script
faults (`fail_next`) and count what it received (`calls`, `captures`, `refunds`).

Cards: GOOD_CARD and Midtrans's 4811 1111 1111 1114 are accepted; DECLINED_CARD and Midtrans's
4911 1111 1111 1113 are denied by the bank; 4511 1111 1111 1117 is challenged by fraud detection and
4611 1111 1111 1116 waits for 3-D Secure (pending).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.gateways.driver import DECLINED_CARD, GOOD_CARD

WIB = timezone(timedelta(hours=7))
ACCEPT = {GOOD_CARD, "4811111111111114", "5555555555554444"}
DENY = {DECLINED_CARD, "4911111111111113"}
CHALLENGE = {"4511111111111117"}
THREE_DS = {"4611111111111116"}
VA_BANKS = {"bca", "bni", "bri", "permata"}
ORDER_ID = re.compile(r"[A-Za-z0-9\-_~.]{1,50}")
CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,99}")  # a JSONP callback: a plain function name
ORDER_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}")
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
CHARGE_KEYS = {"payment_type", "transaction_details", "bank_transfer", "echannel", "qris", "credit_card",
               "custom_expiry", "item_details", "customer_details", "custom_field1", "custom_field2",
               "custom_field3", "metadata"}
REFUNDABLE = {"credit_card", "qris", "gopay"}
CODES = {"pending": "201", "capture": "200", "settlement": "200", "deny": "202", "cancel": "200",
         "expire": "407", "refund": "200", "partial_refund": "200", "failure": "202"}


class Refused(Exception):
    def __init__(self, code: str, message: str, http: int = 200, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.http, self.extra = code, message, http, extra


@dataclass
class Fault:
    kind: str  # "timeout" (stall, never process), "timeout_after" (process, then stall), "http_500", "body_500"
    path: str | None  # only requests whose path starts with this


@dataclass
class Txn:
    order_id: str
    transaction_id: str
    payment_type: str
    gross_amount: int
    status: str
    fraud_status: str = "accept"
    status_message: str = ""
    bank: str | None = None
    va_number: str | None = None
    bill_key: str | None = None
    biller_code: str | None = None
    qr_string: str | None = None
    saved_token_id: str | None = None
    masked_card: str | None = None
    transaction_time: str = ""
    expiry_time: str | None = None
    settlement_time: str | None = None
    gross_text: str | None = None  # set by a test: gross_amount as written in answers (default "<amount>.00")
    saved_token_expires: str | None = None  # set by a test: the answer then names the card Midtrans saved
    refunds: list[dict[str, Any]] = field(default_factory=list)


def _now_wib() -> str:
    return datetime.now(UTC).astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def _money(amount: int) -> str:
    return f"{amount}.00"


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


class FakeMidtrans:
    def __init__(self, server_key: str = "SB-Mid-server-fake-key", client_key: str = "SB-Mid-client-fake-key",
                 *, stall_seconds: float = 1.5, auto_settle_cards: bool = True) -> None:
        self.server_key, self.client_key = server_key, client_key
        self.stall_seconds = stall_seconds  # how long a scripted timeout holds the answer
        self.auto_settle_cards = auto_settle_cards  # a captured card settles at once (Midtrans: the next day)
        self.transactions: dict[str, Txn] = {}
        self.cards: dict[str, tuple[str, int, int]] = {}  # saved_token_id → number, month, year
        self.registrations: list[dict[str, str]] = []  # every card registration's query (the browser's call)
        self.calls: list[tuple[str, str]] = []  # every request received: method, path
        self.bodies: list[tuple[str, Any]] = []  # every JSON body received: path, body
        self.captures = 0  # card charges that took money
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeMidtrans:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting ------------------------------------------------------------------------------------
    def fail_next(self, n: int, kind: str, path: str | None = None) -> None:
        with self.lock:
            self.faults.extend(Fault(kind, path) for _ in range(n))

    def count(self, method: str, prefix: str, suffix: str = "") -> int:
        with self.lock:
            return sum(1 for m, p in self.calls if m == method and p.startswith(prefix) and p.endswith(suffix))

    def last_body(self, path: str) -> Any:
        with self.lock:
            return next(b for p, b in reversed(self.bodies) if p == path)

    def settle(self, order_id: str) -> None:
        with self.lock:
            txn = self.transactions[order_id]
            txn.status, txn.status_message = "settlement", "Success, transaction is found"
            txn.settlement_time = _now_wib()

    def expire(self, order_id: str) -> None:
        with self.lock:
            txn = self.transactions[order_id]
            txn.status, txn.status_message = "expire", "Success, transaction is found"

    def accept_challenge(self, order_id: str) -> None:
        """The merchant approves a card payment fraud detection challenged (capture: challenge → accept)."""
        with self.lock:
            txn = self.transactions[order_id]
            txn.fraud_status, txn.status_message = "accept", "Success, Credit Card transaction is successful"
            self.captures += 1

    def deny(self, order_id: str) -> None:
        """The bank takes back a settled payment (Midtrans: settlement → deny, e.g. a Mandiri reversal)."""
        with self.lock:
            txn = self.transactions[order_id]
            txn.status, txn.status_message = "deny", "Payment reversed by the bank"

    def refunds(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.transactions[order_id].refunds)

    def signature(self, order_id: str, status_code: str, gross_amount: str) -> str:
        return hashlib.sha512((order_id + status_code + gross_amount + self.server_key).encode()).hexdigest()

    def notification(self, order_id: str, *, claim: str | None = None) -> tuple[dict[str, str], bytes]:
        """The HTTP notification Midtrans POSTs about the transaction as it stands (or, with `claim`, one
        claiming that transaction_status: signed all the same, as only three fields are signed)."""
        with self.lock:
            body = self._status(self.transactions[order_id])
        if claim is not None:
            body["transaction_status"], body["status_code"] = claim, CODES[claim]
        body["signature_key"] = self.signature(body["order_id"], body["status_code"], body["gross_amount"])
        body.pop("refunds", None)  # notifications carry the transaction, the refund list is the status API's
        return {"Content-Type": "application/json", "User-Agent": "Veritrans"}, json.dumps(body).encode()

    # -- HTTP -----------------------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        with self.lock:
            self.calls.append((method, parts.path))
            if parsed is not None:
                self.bodies.append((parts.path, parsed))
            fault = next((f for f in self.faults if f.path is None or parts.path.startswith(f.path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None and fault.kind == "timeout":
            time.sleep(self.stall_seconds)
            return self._send(req, 504, {"status_code": "504", "status_message": "stalled"})
        if fault is not None and fault.kind in ("http_500", "body_500"):
            return self._send(req, 500 if fault.kind == "http_500" else 200,
                              {"status_code": "500", "status_message": "Sorry. Our system is recovering from "
                                                                         "unexpected issues. Please retry."})
        try:
            status, answer = self._route(req, method, parts.path, parse_qs(parts.query), raw)
        except Refused as exc:
            status, answer = exc.http, {"status_code": exc.code, "status_message": exc.message, **exc.extra}
        if fault is not None and fault.kind == "timeout_after":
            time.sleep(self.stall_seconds)
        if parts.path == "/v2/card/register":
            return self._send_register(req, status, answer, parse_qs(parts.query).get("callback", [""])[0])
        self._send(req, status, answer)

    @staticmethod
    def _send_register(req: BaseHTTPRequestHandler, status: int, body: dict[str, Any], callback: str) -> None:
        """Card registration answers a browser on another origin: JSONP when asked, else CORS-readable JSON."""
        if callback and CALLBACK.fullmatch(callback):
            data, kind, status = f"{callback}({json.dumps(body)});".encode(), "application/javascript", 200
        else:
            data, kind = json.dumps(body).encode(), "application/json"
        try:
            req.send_response(status)
            req.send_header("Content-Type", kind)
            req.send_header("Access-Control-Allow-Origin", "*")
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a scripted timeout)

    def _route(self, req: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]],
               raw: bytes) -> tuple[int, dict[str, Any]]:
        if method == "GET" and path == "/v2/card/register":
            return 200, self._register(query)
        self._auth(req)
        segments = path.strip("/").split("/")
        if method == "POST" and path == "/v2/charge":
            return 200, self._charge(self._json(req, raw))
        if method == "GET" and len(segments) == 3 and segments[0] == "v2" and segments[2] == "status":
            with self.lock:
                txn = self.transactions.get(segments[1])
                if txn is None:
                    raise Refused("404", "Transaction doesn't exist.", http=404)
                return 200, self._status(txn)
        if method == "POST" and len(segments) == 3 and segments[0] == "v2" and segments[2] == "refund":
            return 200, self._refund(segments[1], self._json(req, raw))
        raise Refused("404", "The requested resource is not found", http=404)

    def _auth(self, req: BaseHTTPRequestHandler) -> None:
        header = req.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.server_key}:".encode()).decode()
        if header != expected:
            raise Refused("401", "Access denied due to unauthorized transaction, please check client or server key",
                          http=401)

    @staticmethod
    def _json(req: BaseHTTPRequestHandler, raw: bytes) -> dict[str, Any]:
        if (req.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            raise Refused("403", "The Content-Type header is not application/json.", http=403)
        try:
            body = json.loads(raw)
        except ValueError:
            raise Refused("413", "The request cannot be processed due to syntax error in the request body.",
                          http=400) from None
        if not isinstance(body, dict):
            raise Refused("413", "The request body is not a JSON object.", http=400)
        return body

    # -- endpoints ------------------------------------------------------------------------------------
    def _register(self, query: dict[str, list[str]]) -> dict[str, Any]:
        one = {k: v[0] for k, v in query.items()}
        with self.lock:
            self.registrations.append(one)
        if "callback" in one and not CALLBACK.fullmatch(one["callback"]):
            raise Refused("400", "The callback is not a function name.", http=400)
        if one.get("client_key") != self.client_key:
            raise Refused("401", "Unknown client key", http=401)
        number, month, year = one.get("card_number", ""), one.get("card_exp_month", ""), one.get("card_exp_year", "")
        if not (number.isdigit() and 12 <= len(number) <= 19 and month.isdigit() and 1 <= int(month) <= 12
                and year.isdigit() and len(year) == 4):
            raise Refused("400", "One or more parameters in the payload is invalid.", http=400)
        if not _luhn(number):
            raise Refused("400", "One or more parameters in the payload is invalid.", http=400,
                          validation_messages=["card_number is invalid"])
        middle = "".join(secrets.choice(string.ascii_letters) for _ in range(22))
        saved = number[:6] + middle + number[-4:]
        with self.lock:
            self.cards[saved] = (number, int(month), int(year))
        return {"status_code": "200", "saved_token_id": saved, "masked_card": f"{number[:8]}-{number[-4:]}",
                "transaction_id": str(uuid.uuid4())}

    def _charge(self, body: dict[str, Any]) -> dict[str, Any]:
        invalid: list[str] = []
        unknown = set(body) - CHARGE_KEYS
        if unknown:
            invalid.append(f"unknown fields: {', '.join(sorted(unknown))}")
        kind = body.get("payment_type")
        details = body.get("transaction_details")
        order_id = amount = None
        if not isinstance(details, dict):
            invalid.append("transaction_details is required")
        else:
            order_id, amount = details.get("order_id"), details.get("gross_amount")
            if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
                invalid.append("transaction_details.order_id must be 1 to 50 of A-Z a-z 0-9 - _ ~ .")
            if type(amount) is not int or amount <= 0:
                invalid.append("transaction_details.gross_amount must be a positive integer")
        expiry = self._custom_expiry(body.get("custom_expiry"), invalid)
        if kind == "bank_transfer":
            transfer = body.get("bank_transfer")
            if not isinstance(transfer, dict) or transfer.get("bank") not in VA_BANKS:
                invalid.append("bank_transfer.bank must be one of bca, bni, bri, permata")
        elif kind == "echannel":
            echannel = body.get("echannel")
            if not isinstance(echannel, dict) or not all(isinstance(echannel.get(k), str) for k in
                                                         ("bill_info1", "bill_info2")):
                invalid.append("echannel.bill_info1 and echannel.bill_info2 are required")
            elif len(echannel["bill_info1"]) > 10 or len(echannel["bill_info2"]) > 30:
                invalid.append("echannel.bill_info1 is at most 10 characters, bill_info2 at most 30")
        elif kind == "qris":
            qris = body.get("qris", {})
            if not isinstance(qris, dict) or qris.get("acquirer", "gopay") not in ("gopay", "airpay shopee"):
                invalid.append("qris.acquirer must be gopay or airpay shopee")
        elif kind == "credit_card":
            card = body.get("credit_card")
            if not isinstance(card, dict) or not isinstance(card.get("token_id"), str):
                invalid.append("credit_card.token_id is required")
        else:
            invalid.append("payment_type is not supported")
        if invalid:
            raise Refused("400", "One or more parameters in the payload is invalid.", http=400,
                          validation_messages=invalid)
        assert isinstance(order_id, str) and isinstance(amount, int) and isinstance(kind, str)
        with self.lock:
            if order_id in self.transactions:
                raise Refused("406", "The request could not be completed due to a conflict with the current state "
                                     "of the target resource, please try again", id=str(uuid.uuid4()))
            txn = Txn(order_id=order_id, transaction_id=str(uuid.uuid4()), payment_type=kind, gross_amount=amount,
                      status="pending", transaction_time=_now_wib(), expiry_time=expiry)
            if kind == "bank_transfer":
                txn.bank = body["bank_transfer"]["bank"]
                txn.va_number = {"bca": "12345", "bni": "8808", "bri": "26215", "permata": "8778"}[txn.bank] + \
                    _digits(11)
                txn.status_message = "Success, Bank Transfer transaction is created"
            elif kind == "echannel":
                txn.bill_key, txn.biller_code = _digits(12), "70012"
                txn.status_message = "OK, Mandiri Bill transaction is successful"
            elif kind == "qris":
                merchant = "ID.CO.GOPAY"
                payload = f"000201010212266{len(merchant)}{merchant}5303360540{len(str(amount))}{amount}5802ID" \
                          f"62{len(order_id) + 4:02d}05{len(order_id):02d}{order_id}6304"
                txn.qr_string = payload + hashlib.sha256(payload.encode()).hexdigest()[:4].upper()
                txn.status_message = "QRIS transaction is created"
            else:
                self._charge_card(txn, body["credit_card"]["token_id"])
            self.transactions[order_id] = txn
            answer = self._status(txn, charge=True)
            if txn.status == "capture" and txn.fraud_status == "accept" and self.auto_settle_cards:
                txn.status, txn.settlement_time = "settlement", _now_wib()
        return answer

    def _charge_card(self, txn: Txn, token_id: str) -> None:
        card = self.cards.get(token_id)
        if card is None:
            raise Refused("411", "Token id is missing, invalid, or timed out")
        number = card[0]
        txn.saved_token_id, txn.masked_card = token_id, f"{number[:6]}-{number[-4:]}"
        if number in ACCEPT:
            txn.status, txn.status_message = "capture", "Success, Credit Card transaction is successful"
            self.captures += 1
        elif number in CHALLENGE:
            txn.status, txn.fraud_status = "capture", "challenge"
            txn.status_message = "Challenge by FDS"
        elif number in THREE_DS:
            txn.status_message = "Success, Credit Card transaction is created, waiting for 3-D Secure"
        elif number in DENY:
            txn.status, txn.status_message = "deny", "Deny by Bank [CIMB] with code [05] and message [Do not honour]"
        else:
            txn.status, txn.status_message = "deny", "Denied by the fake: not a test card"

    @staticmethod
    def _custom_expiry(value: Any, invalid: list[str]) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - {"order_time", "expiry_duration", "unit"}:
            invalid.append("custom_expiry has unknown fields")
            return None
        order_time, duration, unit = value.get("order_time"), value.get("expiry_duration"), value.get("unit", "minute")
        start = None
        if order_time is not None:
            if not isinstance(order_time, str) or not ORDER_TIME.fullmatch(order_time):
                invalid.append("custom_expiry.order_time must be yyyy-MM-dd HH:mm:ss Z")
            else:
                try:
                    start = datetime.strptime(order_time, "%Y-%m-%d %H:%M:%S %z")
                except ValueError:
                    invalid.append("custom_expiry.order_time is not a date")
        if type(duration) is not int or duration <= 0:
            invalid.append("custom_expiry.expiry_duration must be a positive integer")
            return None
        if unit not in UNIT_SECONDS:
            invalid.append("custom_expiry.unit must be second, minute, hour or day")
            return None
        end = (start or datetime.now(UTC)) + timedelta(seconds=duration * UNIT_SECONDS[unit])
        if end - (start or end) > timedelta(days=180):
            invalid.append("custom_expiry is at most 180 days")
        return end.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")

    def _refund(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        key, amount, reason = body.get("refund_key"), body.get("amount"), body.get("reason")
        invalid = [m for ok, m in ((key is None or (isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9\-_]+", key)),
                                    "refund_key is letters, digits, - and _"),
                                   (amount is None or (type(amount) is int and amount > 0),
                                    "amount must be a positive integer"),
                                   (reason is None or isinstance(reason, str), "reason must be a string")) if not ok]
        if set(body) - {"refund_key", "amount", "reason"}:
            invalid.append("unknown fields")
        if invalid:
            raise Refused("400", "One or more parameters in the payload is invalid.", http=400,
                          validation_messages=invalid)
        with self.lock:
            txn = self.transactions.get(order_id)
            if txn is None:
                raise Refused("404", "Transaction doesn't exist.", http=404)
            done = next((r for r in txn.refunds if key is not None and r["refund_key"] == key), None)
            if done is None:
                if txn.payment_type not in REFUNDABLE or txn.status not in ("settlement", "partial_refund"):
                    raise Refused("412", "Merchant cannot modify the status of the transaction")
                left = txn.gross_amount - sum(int(r["refund_amount"].split(".")[0]) for r in txn.refunds)
                value = left if amount is None else amount
                if value > left:
                    raise Refused("412", "Refund amount is larger than the amount left to refund")
                done = {"refund_chargeback_id": 1000 + sum(len(t.refunds) for t in self.transactions.values()),
                        "refund_amount": _money(value), "created_at": _now_wib(), "reason": reason or "",
                        "refund_key": key or str(uuid.uuid4())}
                txn.refunds.append(done)
                txn.status = "refund" if value == left else "partial_refund"
            return {**self._status(txn), "status_message": "Success, refund request is approved",
                    "refund_chargeback_id": done["refund_chargeback_id"], "refund_amount": done["refund_amount"],
                    "refund_key": done["refund_key"]}

    def _status(self, txn: Txn, *, charge: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status_code": CODES[txn.status], "status_message": txn.status_message or "Success, transaction is found",
            "transaction_id": txn.transaction_id, "order_id": txn.order_id, "merchant_id": "G000000000",
            "gross_amount": txn.gross_text or _money(txn.gross_amount), "currency": "IDR",
            "payment_type": txn.payment_type,
            "transaction_time": txn.transaction_time, "transaction_status": txn.status,
            "fraud_status": txn.fraud_status}
        if txn.bank == "permata":
            body["permata_va_number"] = txn.va_number
        elif txn.bank:
            body["va_numbers"] = [{"bank": txn.bank, "va_number": txn.va_number}]
        if txn.bill_key:
            body |= {"bill_key": txn.bill_key, "biller_code": txn.biller_code}
        if txn.qr_string and charge:  # the QR code comes with the charge answer only
            body |= {"qr_string": txn.qr_string, "acquirer": "gopay",
                     "actions": [{"name": "generate-qr-code", "method": "GET",
                                  "url": f"https://api.sandbox.midtrans.com/v2/qris/{txn.transaction_id}/qr-code"}]}
        if txn.expiry_time:
            body["expiry_time"] = txn.expiry_time
        if txn.settlement_time:
            body["settlement_time"] = txn.settlement_time
        if txn.masked_card:
            body |= {"masked_card": txn.masked_card, "bank": "cimb", "card_type": "credit"}
        if txn.saved_token_expires:
            body |= {"saved_token_id": txn.saved_token_id, "saved_token_id_expired_at": txn.saved_token_expires}
        if txn.refunds:
            body["refunds"] = [dict(r) for r in txn.refunds]
        body["signature_key"] = self.signature(txn.order_id, body["status_code"], body["gross_amount"])
        return body


def _luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch) * (2 if i % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


@contextmanager
def running(**kwargs: Any) -> Iterator[FakeMidtrans]:
    fake = FakeMidtrans(**kwargs)
    try:
        yield fake
    finally:
        fake.close()
