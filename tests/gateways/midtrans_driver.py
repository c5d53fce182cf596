"""The Midtrans driver: the real adapter pointed at a local fake Midtrans (tests/gateways/fake_midtrans.py);
the driver plays the customer's browser (card registration with the client key) and the bank (money
arrives, a VA lapses), and hands back the notification Midtrans POSTs then."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from langganan.kit.clock import wall_now
from langganan.payments.gateway import CardSetup
from langganan.payments.midtrans import MidtransGateway, card_token
from tests.gateways.driver import Callback
from tests.gateways.fake_midtrans import FakeMidtrans


class MidtransDriver:
    def __init__(self, *, clock: Callable[[], datetime] = wall_now, timeout: float = 1.0,
                 **fake_options: Any) -> None:
        self.fake = FakeMidtrans(**fake_options)
        self.gateway = self.midtrans = MidtransGateway(self.fake.server_key, self.fake.url,
                                                       client_key=self.fake.client_key, timeout=timeout,
                                                       clock=clock)

    def close(self) -> None:
        self.midtrans.close()
        self.fake.close()

    def __enter__(self) -> MidtransDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def saved_card(self, number: str, exp_month: int, exp_year: int, *, now: datetime) -> str:
        """What Midtrans.js does in the customer's browser (`/v2/card/register` with the client key), then
        the token langganan stores for the saved_token_id it returned."""
        answer = httpx.get(f"{self.fake.url}/v2/card/register",
                           params={"client_key": self.fake.client_key, "card_number": number,
                                   "card_exp_month": f"{exp_month:02d}", "card_exp_year": str(exp_year),
                                   "card_cvv": "123"}).json()
        assert answer["status_code"] == "200", answer
        return card_token(answer["saved_token_id"], exp_month, exp_year)

    def enter_card(self, setup: CardSetup, number: str, exp_month: int, exp_year: int, *,
                   now: datetime) -> dict[str, str]:
        """What langganan's card page does in the browser: register the card at `tokenize_url` with the client
        key (JSONP), then bring back the saved_token_id and the expiry typed."""
        assert setup.tokenize_url is not None and setup.client_key is not None
        answer = httpx.get(setup.tokenize_url, params={"card_number": number, "card_exp_month": f"{exp_month:02d}",
                                                       "card_exp_year": str(exp_year), "client_key": setup.client_key,
                                                       "callback": "registered"})
        assert answer.text.startswith("registered(") and answer.text.endswith(");"), answer.text
        saved = json.loads(answer.text[len("registered("):-2])
        assert saved["status_code"] == "200", saved
        return {"saved_token_id": saved["saved_token_id"], "exp_month": f"{exp_month:02d}",
                "exp_year": str(exp_year)}

    def pay(self, *, reference: str, va_number: str | None, amount: int, currency: str,
            wall_now: datetime) -> Callback:
        txn = self.fake.transactions[reference]
        assert (txn.gross_amount, currency) == (amount, "IDR"), "Midtrans VAs and QRIS codes take the exact amount"
        assert va_number in (None, txn.va_number, txn.bill_key)
        self.fake.settle(reference)
        return self.fake.notification(reference)

    def expire(self, *, reference: str, wall_now: datetime) -> Callback | None:
        self.fake.expire(reference)
        return self.fake.notification(reference)

    def tampered(self, callback: Callback) -> Callback:
        headers, body = callback
        data = json.loads(body)
        data["gross_amount"] = f"{int(data['gross_amount'].split('.')[0]) + 1}.00"
        return headers, json.dumps(data).encode()
