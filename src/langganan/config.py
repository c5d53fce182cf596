"""Configuration from LANGGANAN_* environment variables (see .env.example)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langganan.kit.clock import CLOCK_END
from langganan.kit.fields import in_range, is_zone
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


class ConfigError(ValueError):
    """A LANGGANAN_* variable that cannot be used; the message names it and says what it takes."""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LANGGANAN_{name}", default)


def _int(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    text = _env(name, str(default)).strip()
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"LANGGANAN_{name}={text!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"LANGGANAN_{name}={text} must be {bounds}")
    return value


def _float(name: str, default: float, *, positive: bool) -> float:
    text = _env(name, str(default)).strip()
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"LANGGANAN_{name}={text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0 or (positive and value == 0):
        raise ConfigError(f"LANGGANAN_{name}={text} must be a {'positive' if positive else 'non-negative'} "
                          "number of seconds")
    return value


def _days(name: str, default: str) -> tuple[int, ...]:
    """'1,3,5' -> (1, 3, 5): distinct whole days, at least 0, in ascending order."""
    text = _env(name, default)
    try:
        days = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        days = [-1]
    if any(d < 0 for d in days) or len(set(days)) != len(days):
        raise ConfigError(f"LANGGANAN_{name}={text!r} must be distinct whole days, e.g. 1,3,5")
    return tuple(sorted(days))


def _choice(name: str, default: str, choices: tuple[str, ...], *, any_case: bool = False) -> str:
    value = _env(name, default).strip()
    value = value.lower() if any_case else value
    if value not in choices:
        raise ConfigError(f"LANGGANAN_{name} must be {', '.join(choices[:-1])} or {choices[-1]}")
    return value


def _instant(name: str) -> datetime | None:
    text = os.environ.get(f"LANGGANAN_{name}")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not (in_range(value) and value < CLOCK_END):
        raise ConfigError(f"LANGGANAN_{name}={text!r} must be an RFC 3339 instant with a UTC offset, "
                          f"from 0001-01-02 to before {CLOCK_END.date()}")
    return value


def _zone(name: str, default: str) -> str:
    value = _env(name, default)
    if not is_zone(value):
        raise ConfigError(f"LANGGANAN_{name}={value!r} is not a known IANA time zone, e.g. Asia/Jakarta")
    return value


def _percent(name: str) -> int:
    text = _env(name, "0")
    try:
        return parse_percent_to_bps(text)
    except (ValueError, ArithmeticError):
        raise ConfigError(f"LANGGANAN_{name}={text!r} must be a non-negative percent with at most 2 "
                          "decimals, e.g. 11") from None


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
        """Read the LANGGANAN_* variables; a value that cannot be used raises one ConfigError naming it."""
        smtp_tls = _choice("SMTP_TLS", "starttls", SMTP_TLS_MODES, any_case=True)
        values: dict[str, Any] = dict(
            database_url=_env("DATABASE_URL", "sqlite:///langganan.db"),
            mode=_choice("MODE", "sandbox", ("sandbox", "live")),
            bootstrap_api_key=os.environ.get("LANGGANAN_BOOTSTRAP_API_KEY") or None,
            gateway=_env("GATEWAY", "sandbox"),
            sandbox_gateway_secret=_env("SANDBOX_GATEWAY_SECRET", "sandbox-secret-change-me"),
            invoice_payment_days=_int("INVOICE_PAYMENT_DAYS", 3, 1),
            va_expiry_hours=_int("VA_EXPIRY_HOURS", 24, 1),
            seller_timezone=_zone("SELLER_TIMEZONE", "Asia/Jakarta"),
            worker_interval_seconds=_float("WORKER_INTERVAL_SECONDS", 5, positive=True),
            clock_start=_instant("CLOCK_START"),
            tax_bps={kind: _percent(f"TAX_RATE_{kind.upper()}") for kind in ("subscription", "add_on", "top_up")},
            seller={key: _env(f"SELLER_{key.upper()}", default) for key, default in DEFAULT_SELLER.items()},
            smtp_host=os.environ.get("LANGGANAN_SMTP_HOST") or None,
            smtp_port=_int("SMTP_PORT", 465 if smtp_tls == "ssl" else 587, 1, 65535),
            smtp_username=os.environ.get("LANGGANAN_SMTP_USERNAME") or None,
            smtp_password=os.environ.get("LANGGANAN_SMTP_PASSWORD") or None,
            smtp_tls=smtp_tls,
            smtp_from=_env("SMTP_FROM", "langganan <billing@langganan.example>"),
            delivery_max_attempts=_int("DELIVERY_MAX_ATTEMPTS", 8, 1),
            delivery_backoff_seconds=_float("DELIVERY_BACKOFF_SECONDS", 30, positive=False),
            delivery_backoff_max_seconds=_float("DELIVERY_BACKOFF_MAX_SECONDS", 6 * 3600, positive=False),
            delivery_timeout_seconds=_float("DELIVERY_TIMEOUT_SECONDS", 10, positive=True),
            low_balance_thresholds={kind: _int(f"LOW_BALANCE_{kind.upper()}", default, 0)
                                    for kind, default in DEFAULT_LOW_BALANCE.items()},
            renewal_invoice_days=_int("RENEWAL_INVOICE_DAYS", 7, 0),
            renewal_reminder_days=_days("RENEWAL_REMINDER_DAYS", "1,3"),
            grace_days=_int("GRACE_DAYS", 3, 0),
            card_retry_days=_days("CARD_RETRY_DAYS", "1,3,5"),
            trial_notice_days=_int("TRIAL_NOTICE_DAYS", 7, 0),
            promotion_notice_days=_int("PROMOTION_NOTICE_DAYS", 7, 0),
            charge_lease_seconds=_int("CHARGE_LEASE_SECONDS", 300, 1),
            due_batch=_int("DUE_BATCH", 200, 1),
        )
        values.update(overrides)
        return cls(**values)
