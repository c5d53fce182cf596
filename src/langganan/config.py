"""Configuration from LANGGANAN_* environment variables (see .env.example)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

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
GATEWAYS = ("sandbox", "midtrans", "xendit")
# Each real gateway's secrets (both required when it is chosen) and its API base URL (API.md, "Gateways").
GATEWAY_KEYS = {"midtrans": ("MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY"),
                "xendit": ("XENDIT_SECRET_KEY", "XENDIT_CALLBACK_TOKEN")}
GATEWAY_BASE_URLS = {"midtrans": "https://api.sandbox.midtrans.com", "xendit": "https://api.xendit.co"}
# The sandbox gateway secret older versions printed in the code and in .env.example: known to everyone.
PUBLISHED_SANDBOX_SECRET = "sandbox-secret-change-me"
LIVE_NEEDS_GATEWAY = ("LANGGANAN_GATEWAY must be midtrans or xendit (with its keys) in live mode: the sandbox "
                      "gateway is refused when LANGGANAN_MODE=live")
MIN_LIVE_BOOTSTRAP_KEY = 32
# Request body limits in bytes (LANGGANAN_MAX_BODY_BYTES, _USAGE_BATCH, _IMPORT): every route, the batch usage
# route (1.000 events with the longest ids: ~0,4 MB of JSON, ~1,4 MB if every id character is \u-escaped), file
# imports (a 10.000-row legacy CSV or JSON).
DEFAULT_BODY_LIMITS = {"default": 64 * 1024, "usage_batch": 2 * 1024 * 1024, "import": 8 * 1024 * 1024}
MAX_BODY_LIMIT = 64 * 1024 * 1024


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


def _secret(name: str) -> str | None:
    """A secret: unset or blank is None (never a default); surrounding spaces are a copy-paste slip, refused."""
    value = os.environ.get(f"LANGGANAN_{name}", "")
    if not value.strip():
        return None
    if value != value.strip():
        raise ConfigError(f"LANGGANAN_{name} has spaces around the value; remove them")
    return value


def _base_url(name: str, default: str) -> str:
    """An API base URL: https, or http only to this machine (a local test double)."""
    value = _env(name, default).strip().rstrip("/")
    parts = urlsplit(value)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
        raise ConfigError(f"LANGGANAN_{name}={value!r} must be an https:// URL, e.g. {default}")
    return value


def _address(name: str) -> tuple[str, int] | None:
    """host:port ([::1]:9464 for IPv6) to listen on, or None when unset."""
    text = os.environ.get(f"LANGGANAN_{name}", "").strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        if host != "localhost":
            ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = 0
    if not sep or not 1 <= number <= 65535:
        raise ConfigError(f"LANGGANAN_{name}={text!r} must be an IP address and a port, e.g. 127.0.0.1:9464")
    return host, number


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
    gateway: str = "sandbox"  # sandbox | midtrans | xendit; live mode refuses sandbox
    # Signs the sandbox gateway's test-card tokens and callbacks. None: a random secret generated once and kept
    # in the database (kit/secrets.py), so every process on one database agrees.
    sandbox_gateway_secret: str | None = None
    midtrans_server_key: str | None = None
    midtrans_client_key: str | None = None
    midtrans_base_url: str = GATEWAY_BASE_URLS["midtrans"]
    xendit_secret_key: str | None = None
    xendit_callback_token: str | None = None
    xendit_base_url: str = GATEWAY_BASE_URLS["xendit"]
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
    # Request bodies larger than these are refused with 413 while they are read (kit/bodylimit.py).
    max_body_bytes: int = DEFAULT_BODY_LIMITS["default"]
    max_body_bytes_usage_batch: int = DEFAULT_BODY_LIMITS["usage_batch"]
    max_body_bytes_import: int = DEFAULT_BODY_LIMITS["import"]
    # Where `serve` and `worker` expose /metrics on a listener of their own; None: on the app, admin key only.
    metrics_address: tuple[str, int] | None = None
    due_batch: int = 200  # subscriptions a worker claims per transaction, at most
    # Waiting for the database (issue 11): a request waits this long for a lock, then is answered 503 with
    # Retry-After; background work (due work, deliveries) waits longer; and each background batch is
    # sized so that its transaction lasts about `batch_seconds` (on SQLite it holds the one write lock).
    lock_wait_seconds: float = 5.0
    worker_lock_wait_seconds: float = 30.0
    batch_seconds: float = 0.25

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
            gateway=_choice("GATEWAY", "sandbox", GATEWAYS),
            sandbox_gateway_secret=_secret("SANDBOX_GATEWAY_SECRET"),
            midtrans_server_key=_secret("MIDTRANS_SERVER_KEY"),
            midtrans_client_key=_secret("MIDTRANS_CLIENT_KEY"),
            midtrans_base_url=_base_url("MIDTRANS_BASE_URL", GATEWAY_BASE_URLS["midtrans"]),
            xendit_secret_key=_secret("XENDIT_SECRET_KEY"),
            xendit_callback_token=_secret("XENDIT_CALLBACK_TOKEN"),
            xendit_base_url=_base_url("XENDIT_BASE_URL", GATEWAY_BASE_URLS["xendit"]),
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
            max_body_bytes=_int("MAX_BODY_BYTES", DEFAULT_BODY_LIMITS["default"], 1024, MAX_BODY_LIMIT),
            max_body_bytes_usage_batch=_int("MAX_BODY_BYTES_USAGE_BATCH", DEFAULT_BODY_LIMITS["usage_batch"], 1024,
                                            MAX_BODY_LIMIT),
            max_body_bytes_import=_int("MAX_BODY_BYTES_IMPORT", DEFAULT_BODY_LIMITS["import"], 1024, MAX_BODY_LIMIT),
            metrics_address=_address("METRICS_ADDRESS"),
            lock_wait_seconds=_float("LOCK_WAIT_SECONDS", 5, positive=True),
            worker_lock_wait_seconds=_float("WORKER_LOCK_WAIT_SECONDS", 30, positive=True),
            batch_seconds=_float("BATCH_SECONDS", 0.25, positive=True),
        )
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """What the values mean together: live mode takes real money, so it needs a real gateway with its keys
        and nothing anyone else knows. Raises one ConfigError naming the variable."""
        if self.sandbox_gateway_secret == PUBLISHED_SANDBOX_SECRET:
            raise ConfigError("LANGGANAN_SANDBOX_GATEWAY_SECRET is the value once published in langganan's code; "
                              "unset it (a random secret is generated and kept in the database) or choose your own")
        if self.gateway != "sandbox":
            missing = [f"LANGGANAN_{name}" for name in GATEWAY_KEYS[self.gateway]
                       if getattr(self, name.lower()) is None]
            if missing:
                raise ConfigError(f"LANGGANAN_GATEWAY={self.gateway} needs {' and '.join(missing)}")
        if self.mode != "live":
            return
        if self.gateway == "sandbox":
            raise ConfigError(LIVE_NEEDS_GATEWAY)
        if self.bootstrap_api_key is not None and len(self.bootstrap_api_key) < MIN_LIVE_BOOTSTRAP_KEY:
            raise ConfigError(f"LANGGANAN_BOOTSTRAP_API_KEY must be at least {MIN_LIVE_BOOTSTRAP_KEY} characters in "
                              "live mode (or unset: create keys with `langganan api-keys create`)")
