"""What a test needs to start the app in live mode: a gateway that is not the sandbox one.

`RefusingGateway` is the smallest Gateway there is: it issues virtual accounts (so invoices can wait for
money) and accepts nothing: no card token or card setup, no charge, no callback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from langganan.app import create_app, prepare
from langganan.kit.db import Database
from langganan.payments.gateway import (
    CardDetails,
    CardSetup,
    ChargeResult,
    GatewayRefused,
    InvalidCardToken,
    InvalidSignature,
    Notification,
    QrCode,
    RefundResult,
    SavedCard,
    VirtualAccount,
)
from tests.conftest import ADMIN_KEY, Env, make_settings


class RefusingGateway:
    name = "refusing"

    def card_details(self, token: str) -> CardDetails:
        raise InvalidCardToken()

    def start_card_setup(self, *, reference: str, email: str, name: str, return_url: str,
                         cancel_url: str) -> CardSetup:
        raise GatewayRefused("card_setup_refused", "This gateway keeps no cards.")

    def finish_card_setup(self, session_id: str, returned: Mapping[str, str]) -> SavedCard:
        raise InvalidCardToken()

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        return ChargeResult(False, "ch_refused", "card_declined", "This gateway accepts nothing.")

    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount:
        return VirtualAccount(bank=bank, va_number="7" + str(secrets.randbelow(10**15)).zfill(15),
                              expires_at=expires_at, provider_ref="va_refusing_" + secrets.token_hex(6))

    def create_qris(self, *, reference: str, amount: int, currency: str, expires_at: datetime) -> QrCode:
        return QrCode(qr_string="000201" + reference, expires_at=expires_at, provider_ref="qr_refusing_" + reference)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification:
        raise InvalidSignature()

    def status(self, reference: str) -> Notification | None:
        return None

    def close(self) -> None:
        pass

    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        return RefundResult(False, "rf_refused", failure_code="refund_refused")


@contextmanager
def live_env(db: Database, **overrides: Any) -> Iterator[Env]:
    """The app in live mode (wall clock, no sandbox routes) with the refusing gateway, on a migrated db."""
    settings = make_settings(db, mode="live", clock_start=None, sandbox_gateway_secret=None, **overrides)
    prepare(settings, db, migrate_if_empty=False)
    with TestClient(create_app(settings, db, gateway=RefusingGateway())) as client:
        yield Env(db=db, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
