"""Real receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks.webhooks import Webhook

SMTP_USER, SMTP_PASSWORD = "mailer", "s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler: keeps every message it accepts, with its envelope."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.authenticated: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.authenticated.append(bool(session.authenticated))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def reaching(self, address: str) -> list[EmailMessage]:
        """The messages with `address` in To or Cc."""
        return [m for m in self.messages if address in addresses(m)]


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def addresses(msg: EmailMessage) -> list[str]:
    """Every address in To and Cc, in order."""
    return [addr for _name, addr in getaddresses([str(v) for v in (msg.get_all("To", []) + msg.get_all("Cc", []))])]


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a loopback port (`port`, or a free one) that checks logins (plain text, no TLS)."""
    inbox = Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def body_html(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None and part.get_content_type() == "text/html"
    return str(part.get_content())


def attachments(msg: EmailMessage) -> list[tuple[str, str, bytes]]:
    """(filename, content type, bytes) of each attachment."""
    return [(str(part.get_filename()), part.get_content_type(), bytes(part.get_payload(decode=True)))
            for part in msg.iter_attachments()]


@dataclass
class Receiver:
    """A webhook receiver that verifies each request with standardwebhooks' Webhook.verify.

    `plan` decides the answer to each request in order (a status code, or "timeout" to answer too
    late); once it runs out every request gets 204. `accepted` keeps the verified payloads that
    were answered with success, keyed by webhook-id, so a test can check exactly-once delivery.
    """

    secret: str = ""
    plan: list[int | str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, list[Any]] = field(default_factory=dict)
    rejected_signatures: int = 0
    delay: float = 0.0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int | str:
        with self._lock:
            answer = self.plan.pop(0) if self.plan else 204
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except Exception:
                self.rejected_signatures += 1
                return 400
            self.requests.append({"headers": headers, "payload": payload})
            if isinstance(answer, int) and 200 <= answer < 300:
                self.accepted.setdefault(headers["webhook-id"], []).append(payload)
            return answer


@contextmanager
def webhook_receiver(timeout_sleep: float = 1.5) -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            answer = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
            if answer == "timeout":
                time.sleep(timeout_sleep)
                answer = 204
            self.send_response(int(answer))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
