from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from langganan.payments.gateway import CardSetup, Gateway
from langganan.payments.xendit import XenditGateway
from tests.gateways.driver import Callback
from tests.gateways.fake_xendit import FakeXendit

SECRET_KEY = "xnd_development_fake_secret"
CALLBACK_TOKEN = "fake-callback-token-0123456789"


class XenditDriver:
    """The real Xendit adapter pointed at a local fake Xendit; `close()` stops the fake."""

    def __init__(self, *, timeout: float = 2.0, fault_sleep: float = 3.0) -> None:
        self.fake = FakeXendit(SECRET_KEY, CALLBACK_TOKEN, fault_sleep=fault_sleep).start()
        self.xendit = XenditGateway(SECRET_KEY, CALLBACK_TOKEN, self.fake.url, timeout=timeout, retry_pause=0)
        self.gateway: Gateway = self.xendit

    def close(self) -> None:
        self.xendit.close()
        self.fake.close()

    def __enter__(self) -> XenditDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def callback(self, body: dict[str, Any]) -> Callback:
        return self.fake.headers(), json.dumps(body).encode()

    def saved_card(self, number: str, exp_month: int, exp_year: int, *, now: datetime) -> str:
        return self.fake.save_card(number, exp_month, exp_year)

    def enter_card(self, setup: CardSetup, number: str, exp_month: int, exp_year: int, *,
                   now: datetime) -> dict[str, str]:
        """On Xendit's hosted page (the fake's, over HTTP as a browser would); nothing comes back but the
        customer (langganan asks Xendit)."""
        assert setup.redirect_url is not None
        answer = httpx.post(setup.redirect_url, data={"card_number": number, "expiry_month": f"{exp_month:02d}",
                                                      "expiry_year": str(exp_year), "cvn": "123"})
        assert answer.status_code == 303, answer.text
        return {}

    def pay(self, *, reference: str, va_number: str | None, amount: int, currency: str,
            wall_now: datetime) -> Callback:
        return self.callback(self.fake.capture(reference, amount))

    def expire(self, *, reference: str, wall_now: datetime) -> Callback | None:
        return self.callback(self.fake.expire(reference))

    def tampered(self, callback: Callback) -> Callback:
        headers, body = callback
        doc = json.loads(body)
        data = doc["data"]
        data["request_amount"] = int(data["request_amount"]) + 1_000_000
        for capture in data.get("captures") or ():
            capture["capture_amount"] = int(capture["capture_amount"]) + 1_000_000
        return headers, json.dumps(doc).encode()
