"""Configuration from LANGGANAN_* environment variables (see .env.example)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langganan.kit.money import parse_percent_to_bps

# Seller identity printed on invoices (LANGGANAN_SELLER_NAME, _ADDRESS, _NPWP, _EMAIL, _BANK_NAME, ...).
DEFAULT_SELLER = {
    "name": "PT Langganan Demo Indonesia",
    "address": "Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan 12190",
    "npwp": "01.234.567.8-901.000",
    "email": "billing@langganan.example",
    "bank_name": "Bank Central Asia",
    "bank_account": "123-456-7890",
    "bank_account_name": "PT Langganan Demo Indonesia",
}


# Default low-balance alert thresholds per wallet (LANGGANAN_LOW_BALANCE_CONVERSATION, _BROADCAST).
DEFAULT_LOW_BALANCE = {"conversation": 5_000, "broadcast": 6_500}
SMTP_TLS_MODES = ("none", "starttls", "ssl")


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LANGGANAN_{name}", default)


def _days(text: str) -> tuple[int, ...]:
    """'1,3,5' -> (1, 3, 5): distinct whole days, at least 0, in ascending order."""
    days = [int(part) for part in text.split(",") if part.strip()]
    if any(d < 0 for d in days) or len(set(days)) != len(days):
        raise ValueError(f"{text!r} must be distinct whole days, e.g. 1,3,5")
    return tuple(sorted(days))


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///langganan.db"
    mode: str = "sandbox"  # sandbox | live
    bootstrap_api_key: str | None = None
    gateway: str = "sandbox"
    sandbox_gateway_secret: str = "sandbox-secret-change-me"
    invoice_payment_days: int = 3
    va_expiry_hours: int = 24
    seller_timezone: str = "Asia/Jakarta"
    worker_interval_seconds: float = 5.0
    clock_start: datetime | None = None  # sandbox: freeze the engine clock at this instant on first start
    tax_bps: dict[str, int] = field(default_factory=lambda: {"subscription": 0, "add_on": 0, "top_up": 0})
    seller: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SELLER))
    # Email (LANGGANAN_SMTP_*): no host means the sandbox mailer, which records messages instead of sending.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: str = "starttls"  # none | starttls | ssl
    smtp_from: str = "langganan <billing@langganan.example>"
    # Delivery of emails and webhooks (wall time, rule 14): attempts, exponential backoff, timeouts.
    delivery_max_attempts: int = 8
    delivery_backoff_seconds: float = 30.0
    delivery_backoff_max_seconds: float = 6 * 3600.0
    delivery_timeout_seconds: float = 10.0
    # Usage alerts: the low-balance threshold of a wallet that has none of its own.
    low_balance_thresholds: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LOW_BALANCE))
    # Lifecycle (issue 4): when renewal invoices, reminders, retries and notices fall due.
    renewal_invoice_days: int = 7  # bank transfer: renewal invoice (with its VA) this many days before period end
    renewal_reminder_days: tuple[int, ...] = (1, 3)  # reminders this many days before period end
    grace_days: int = 3  # bank transfer: past_due this long after period end, then Free
    card_retry_days: tuple[int, ...] = (1, 3, 5)  # card: retries this many days after period end, then Free
    trial_notice_days: int = 7  # trial.will_end this many days before the trial ends
    promotion_notice_days: int = 7  # promotion.ending this many days before a promotion ends
    charge_lease_seconds: int = 300  # wall time after which an unfinished renewal charge is retried
    due_batch: int = 200  # subscriptions a worker claims per transaction

    @property
    def sandbox(self) -> bool:
        return self.mode == "sandbox"

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        mode = _env("MODE", "sandbox")
        if mode not in ("sandbox", "live"):
            raise ValueError("LANGGANAN_MODE must be sandbox or live")
        smtp_tls = _env("SMTP_TLS", "starttls").lower()
        if smtp_tls not in SMTP_TLS_MODES:
            raise ValueError("LANGGANAN_SMTP_TLS must be none, starttls or ssl")
        values: dict[str, Any] = dict(
            database_url=_env("DATABASE_URL", "sqlite:///langganan.db"),
            mode=mode,
            bootstrap_api_key=os.environ.get("LANGGANAN_BOOTSTRAP_API_KEY") or None,
            gateway=_env("GATEWAY", "sandbox"),
            sandbox_gateway_secret=_env("SANDBOX_GATEWAY_SECRET", "sandbox-secret-change-me"),
            invoice_payment_days=int(_env("INVOICE_PAYMENT_DAYS", "3")),
            va_expiry_hours=int(_env("VA_EXPIRY_HOURS", "24")),
            seller_timezone=_env("SELLER_TIMEZONE", "Asia/Jakarta"),
            worker_interval_seconds=float(_env("WORKER_INTERVAL_SECONDS", "5")),
            clock_start=datetime.fromisoformat(os.environ["LANGGANAN_CLOCK_START"])
            if os.environ.get("LANGGANAN_CLOCK_START") else None,
            tax_bps={kind: parse_percent_to_bps(_env(f"TAX_RATE_{kind.upper()}", "0"))
                     for kind in ("subscription", "add_on", "top_up")},
            seller={key: _env(f"SELLER_{key.upper()}", default) for key, default in DEFAULT_SELLER.items()},
            smtp_host=os.environ.get("LANGGANAN_SMTP_HOST") or None,
            smtp_port=int(_env("SMTP_PORT", "465" if smtp_tls == "ssl" else "587")),
            smtp_username=os.environ.get("LANGGANAN_SMTP_USERNAME") or None,
            smtp_password=os.environ.get("LANGGANAN_SMTP_PASSWORD") or None,
            smtp_tls=smtp_tls,
            smtp_from=_env("SMTP_FROM", "langganan <billing@langganan.example>"),
            delivery_max_attempts=int(_env("DELIVERY_MAX_ATTEMPTS", "8")),
            delivery_backoff_seconds=float(_env("DELIVERY_BACKOFF_SECONDS", "30")),
            delivery_backoff_max_seconds=float(_env("DELIVERY_BACKOFF_MAX_SECONDS", str(6 * 3600))),
            delivery_timeout_seconds=float(_env("DELIVERY_TIMEOUT_SECONDS", "10")),
            low_balance_thresholds={kind: int(_env(f"LOW_BALANCE_{kind.upper()}", str(default)))
                                    for kind, default in DEFAULT_LOW_BALANCE.items()},
            renewal_invoice_days=int(_env("RENEWAL_INVOICE_DAYS", "7")),
            renewal_reminder_days=_days(_env("RENEWAL_REMINDER_DAYS", "1,3")),
            grace_days=int(_env("GRACE_DAYS", "3")),
            card_retry_days=_days(_env("CARD_RETRY_DAYS", "1,3,5")),
            trial_notice_days=int(_env("TRIAL_NOTICE_DAYS", "7")),
            promotion_notice_days=int(_env("PROMOTION_NOTICE_DAYS", "7")),
            charge_lease_seconds=int(_env("CHARGE_LEASE_SECONDS", "300")),
            due_batch=int(_env("DUE_BATCH", "200")),
        )
        values.update(overrides)
        return cls(**values)
