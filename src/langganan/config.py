"""Configuration from LANGGANAN_* environment variables (see .env.example).

`Settings` is a pydantic-settings model with one field per variable: the field's default is the variable's
default (written here once), its Annotated type the check. `Settings()` is the defaults (and `Settings(x=...)`
the defaults with x: what tests and benchmarks build); `Settings.from_env()` reads the environment.
A value that cannot be used is one `ConfigError` naming the variable; the CLI prints it and exits 2."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ValidationError, ValidationInfo, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from langganan.kit.clock import CLOCK_END
from langganan.kit.fields import in_range, is_zone
from langganan.kit.money import parse_percent_to_bps
from langganan.kit.taxids import head_office_nitku, nitku_digits, npwp_digits

# Seller identity printed on invoices (LANGGANAN_SELLER_NAME, _ADDRESS, _NPWP, _EMAIL, _BANK_NAME, ...).
DEFAULT_SELLER = {
    "name": "PT Langganan Demo Indonesia",
    "address": "Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan 12190",
    "npwp": "01.234.567.8-901.000",
    "nitku": "0012345678901000000000",  # the NPWP's 16 digits and 000000, the head office
    "email": "billing@langganan.example",
    "bank_name": "Bank Central Asia",
    "bank_account": "123-456-7890",
    "bank_account_name": "PT Langganan Demo Indonesia",
}


# Default low-balance alert thresholds per wallet (LANGGANAN_LOW_BALANCE_CONVERSATION, _BROADCAST).
DEFAULT_LOW_BALANCE = {"conversation": 5_000, "broadcast": 6_500}
# Product types with a tax rate and a tax base of their own (LANGGANAN_TAX_RATE_SUBSCRIPTION, _ADD_ON, _TOP_UP;
# LANGGANAN_TAX_BASE_SUBSCRIPTION, _ADD_ON, _TOP_UP).
TAXED_TYPES = ("subscription", "add_on", "top_up")
Mode = Literal["sandbox", "live"]
Gateway = Literal["sandbox", "midtrans", "xendit"]
SmtpTls = Literal["none", "starttls", "ssl"]
LogFormat = Literal["json", "text"]
LogLevel = Literal["debug", "info", "warning", "error"]
MODES: tuple[str, ...] = get_args(Mode)
GATEWAYS: tuple[str, ...] = get_args(Gateway)
SMTP_TLS_MODES: tuple[str, ...] = get_args(SmtpTls)
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
SMTP_SSL_PORT = 465  # LANGGANAN_SMTP_PORT when unset and LANGGANAN_SMTP_TLS=ssl
# Each real gateway's secrets (both required when it is chosen) and its API base URL (API.md, "Gateways").
GATEWAY_KEYS = {"midtrans": ("MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY"),
                "xendit": ("XENDIT_SECRET_KEY", "XENDIT_CALLBACK_TOKEN")}
GATEWAY_BASE_URLS = {"midtrans": "https://api.sandbox.midtrans.com", "xendit": "https://api.xendit.co"}
# The sandbox gateway secret older versions printed in the code and in .env.example: known to everyone.
QRIS_MAX_AMOUNT = 10_000_000  # Bank Indonesia's limit for one QRIS payment
PUBLISHED_SANDBOX_SECRET = "sandbox-secret-change-me"
LIVE_NEEDS_GATEWAY = ("LANGGANAN_GATEWAY must be midtrans or xendit (with its keys) in live mode: the sandbox "
                      "gateway is refused when LANGGANAN_MODE=live")
MIN_LIVE_BOOTSTRAP_KEY = 32
# Request body limits in bytes (LANGGANAN_MAX_BODY_BYTES, _USAGE_BATCH, _IMPORT): every route, the batch usage
# route (1.000 events with the longest ids: ~0,4 MB of JSON, ~1,4 MB if every id character is \u-escaped), file
# imports (a 10.000-row legacy CSV or JSON).
DEFAULT_BODY_LIMITS = {"default": 64 * 1024, "usage_batch": 2 * 1024 * 1024, "import": 8 * 1024 * 1024}
MAX_TAX_BASE_DENOMINATOR = 1000  # a tax-base fraction n/d (LANGGANAN_TAX_BASE_*): 0 < n <= d <= this
MIN_BODY_LIMIT = 1024
MAX_RETENTION_MONTHS = 1200  # LANGGANAN_RETENTION_*: 100 years is "forever" too; 0 says it plainly
MAX_BODY_LIMIT = 64 * 1024 * 1024
ENV_PREFIX = "LANGGANAN_"


class ConfigError(ValueError):
    """A LANGGANAN_* variable that cannot be used; the message names it and says what it takes."""


def _variable(info: ValidationInfo) -> str:
    """The environment variable a field is read from: LANGGANAN_ and the field's name in capitals."""
    return f"{ENV_PREFIX}{(info.field_name or '').upper()}"


# The checks. Each takes what the environment gives (a string) or what code passes (the field's own type),
# and raises ConfigError naming the variable; pydantic wraps it, and `from_env` hands it on unwrapped.

def _whole(minimum: int, maximum: int | None = None) -> BeforeValidator:
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"

    def check(value: object, info: ValidationInfo) -> int:
        text = str(value).strip()
        try:
            number = int(text)
        except ValueError:
            raise ConfigError(f"{_variable(info)}={text!r} is not a whole number") from None
        if number < minimum or (maximum is not None and number > maximum):
            raise ConfigError(f"{_variable(info)}={text} must be {bounds}")
        return number

    return BeforeValidator(check)


def _seconds(*, positive: bool) -> BeforeValidator:
    def check(value: object, info: ValidationInfo) -> float:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{_variable(info)}={text!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")) or number < 0 or (positive and number == 0):
            raise ConfigError(f"{_variable(info)}={text} must be a {'positive' if positive else 'non-negative'} "
                              "number of seconds")
        return number

    return BeforeValidator(check)


def _days(value: object, info: ValidationInfo) -> tuple[int, ...]:
    """'1,3,5' (or (1, 3, 5)) -> (1, 3, 5): distinct whole days, at least 0, in ascending order."""
    text = ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
    try:
        days = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        days = [-1]
    if any(d < 0 for d in days) or len(set(days)) != len(days):
        raise ConfigError(f"{_variable(info)}={text!r} must be distinct whole days, e.g. 1,3,5")
    return tuple(sorted(days))


def _choice(choices: tuple[str, ...], *, any_case: bool = False) -> BeforeValidator:
    """One of `choices` (in any case too, when `any_case`)."""
    def check(value: object, info: ValidationInfo) -> str:
        text = str(value).strip()
        text = text.lower() if any_case else text
        if text not in choices:
            raise ConfigError(f"{_variable(info)} must be {', '.join(choices[:-1])} or {choices[-1]}")
        return text

    return BeforeValidator(check)


def _instant(value: object, info: ValidationInfo) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None or not (in_range(instant) and instant < CLOCK_END):
        raise ConfigError(f"{_variable(info)}={str(value)!r} must be an RFC 3339 instant with a UTC offset, "
                          f"from 0001-01-02 to before {CLOCK_END.date()}")
    return instant


def _secret(value: object, info: ValidationInfo) -> str | None:
    """A secret: unset or blank is None (never a default); surrounding spaces are a copy-paste slip, refused."""
    text = "" if value is None else str(value)
    if not text.strip():
        return None
    if text != text.strip():
        raise ConfigError(f"{_variable(info)} has spaces around the value; remove them")
    return text


def _optional(value: object) -> object:
    """Set or not: an empty value is None."""
    return value or None


def _base_url(value: object, info: ValidationInfo) -> str:
    """An API base URL: https, or http only to this machine (a local test double)."""
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
        example = GATEWAY_BASE_URLS[(info.field_name or "").removesuffix("_base_url")]
        raise ConfigError(f"{_variable(info)}={text!r} must be an https:// URL, e.g. {example}")
    return text


def _public_url(value: object, info: ValidationInfo) -> str:
    """Where customers reach this service (http or https, a host, an optional path; no query)."""
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if not parts.hostname or parts.scheme not in ("https", "http") or parts.query or parts.fragment:
        raise ConfigError(f"{_variable(info)}={text!r} must be the http(s):// address customers reach langganan "
                          "at, e.g. https://billing.example.com")
    return text


def _address(value: object, info: ValidationInfo) -> tuple[str, int] | None:
    """host:port ([::1]:9464 for IPv6) to listen on, or None when unset."""
    if isinstance(value, tuple):
        value = f"[{value[0]}]:{value[1]}" if ":" in str(value[0]) else f"{value[0]}:{value[1]}"
    text = "" if value is None else str(value).strip()
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
        raise ConfigError(f"{_variable(info)}={text!r} must be an IP address and a port, e.g. 127.0.0.1:9464")
    return host, number


def _zone(value: object, info: ValidationInfo) -> str:
    text = str(value)
    if not is_zone(text):
        raise ConfigError(f"{_variable(info)}={text!r} is not a known IANA time zone, e.g. Asia/Jakarta")
    return text


def _percent(value: object, info: ValidationInfo) -> Decimal:
    """A tax rate in percent, e.g. '11' or '11.5': non-negative, at most 2 decimals."""
    text = str(value)
    try:
        parse_percent_to_bps(text)
    except (ValueError, ArithmeticError):
        raise ConfigError(f"{_variable(info)}={text!r} must be a non-negative percent with at most 2 "
                          "decimals, e.g. 11") from None
    return Decimal(text.strip())


def fraction_parts(text: str) -> tuple[int, int]:
    """'11/12' -> (11, 12), '1' -> (1, 1); a ValueError unless 0 < n <= d <= MAX_TAX_BASE_DENOMINATOR."""
    top, slash, bottom = text.strip().partition("/")
    numerator, denominator = int(top.strip()), int(bottom.strip()) if slash else 1
    if not 0 < numerator <= denominator <= MAX_TAX_BASE_DENOMINATOR:
        raise ValueError(f"{text!r} is not a fraction n/d with 0 < n <= d <= {MAX_TAX_BASE_DENOMINATOR}")
    return numerator, denominator


def _tax_base(value: object, info: ValidationInfo) -> str:
    """A tax-base fraction (DPP), e.g. '11/12' (DPP nilai lain) or '1/1' (the whole price)."""
    text = str(value).strip()
    try:
        numerator, denominator = fraction_parts(text)
    except ValueError:
        raise ConfigError(f"{_variable(info)}={text!r} must be a fraction n/d with 0 < n <= d <= "
                          f"{MAX_TAX_BASE_DENOMINATOR}, e.g. 11/12 or 1/1") from None
    return f"{numerator}/{denominator}"


def _npwp(value: object, info: ValidationInfo) -> str:
    """An NPWP as it is printed (kept as written): 15 or 16 digits, dots and dashes allowed."""
    text = str(value).strip()
    if npwp_digits(text) is None:
        raise ConfigError(f"{_variable(info)}={text!r} must be an NPWP of 15 or 16 digits, e.g. "
                          f"{DEFAULT_SELLER['npwp']} or 0012345678901000")
    return text


def _nitku(value: object, info: ValidationInfo) -> str | None:
    """A NITKU: 22 digits (the 16-digit NPWP and the place of business); empty: the NPWP's head office."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    digits = nitku_digits(text)
    if digits is None:
        raise ConfigError(f"{_variable(info)}={text!r} must be a NITKU of 22 digits: the 16-digit NPWP and "
                          "6 digits for the place of business (000000: the head office)")
    return digits


Count = Annotated[int, _whole(1)]  # a whole number, at least 1
Days = Annotated[int, _whole(0)]  # a whole number of days, at least 0
Threshold = Annotated[int, _whole(0)]
Port = Annotated[int, _whole(1, 65535)]
BodyLimit = Annotated[int, _whole(MIN_BODY_LIMIT, MAX_BODY_LIMIT)]
Seconds = Annotated[float, _seconds(positive=True)]
Backoff = Annotated[float, _seconds(positive=False)]  # 0 allowed: retry at once
DayList = Annotated[tuple[int, ...], BeforeValidator(_days)]
Secret = Annotated[str | None, BeforeValidator(_secret)]
OptionalText = Annotated[str | None, BeforeValidator(_optional)]
BaseUrl = Annotated[str, BeforeValidator(_base_url)]
PublicUrl = Annotated[str, BeforeValidator(_public_url)]
Zone = Annotated[str, BeforeValidator(_zone)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
TaxBase = Annotated[str, BeforeValidator(_tax_base)]
Npwp = Annotated[str, BeforeValidator(_npwp)]
Nitku = Annotated[str | None, BeforeValidator(_nitku)]
StartInstant = Annotated[datetime | None, BeforeValidator(_instant)]
Address = Annotated[tuple[str, int] | None, BeforeValidator(_address)]
Months = Annotated[int, _whole(0, MAX_RETENTION_MONTHS)]  # a retention in months; 0 keeps forever


class Settings(BaseSettings):
    # Values come only from the environment, as they are (no JSON decoding of lists), and never from a .env file.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", enable_decoding=False)

    database_url: str = "sqlite:///langganan.db"
    mode: Annotated[Mode, _choice(MODES)] = "sandbox"
    bootstrap_api_key: OptionalText = None
    gateway: Annotated[Gateway, _choice(GATEWAYS)] = "sandbox"  # live mode refuses sandbox
    # Signs the sandbox gateway's test-card tokens and callbacks. None: a random secret generated once and kept
    # in the database (kit/secrets.py), so every process on one database agrees.
    sandbox_gateway_secret: Secret = None
    midtrans_server_key: Secret = None
    midtrans_client_key: Secret = None
    midtrans_base_url: BaseUrl = GATEWAY_BASE_URLS["midtrans"]
    xendit_secret_key: Secret = None
    xendit_callback_token: Secret = None
    xendit_base_url: BaseUrl = GATEWAY_BASE_URLS["xendit"]
    gateway_timeout_seconds: Seconds = 10.0  # how long one call to Midtrans or Xendit may take (then retried or 503)
    invoice_payment_days: Count = 3
    va_expiry_hours: Count = 24
    qris_expiry_minutes: Count = 60  # how long a QRIS code can be paid
    qris_max_amount: Count = QRIS_MAX_AMOUNT  # the largest payment offered as QRIS (rupiah)
    # A gateway payment still pending this long is asked about with the gateway's status API (a lost callback).
    payment_status_check_minutes: Count = 30
    auto_top_up_interval_minutes: Count = 60  # an auto top-up recharges a wallet at most once per this many minutes
    seller_timezone: Zone = "Asia/Jakarta"
    worker_interval_seconds: Seconds = 5.0
    clock_start: StartInstant = None  # sandbox: freeze the engine clock at this instant on first start
    # PPN, exclusive, percent per product type (`tax_bps` gives them in basis points).
    tax_rate_subscription: Percent = Decimal(0)
    tax_rate_add_on: Percent = Decimal(0)
    tax_rate_top_up: Percent = Decimal(0)
    # The tax base (DPP) as a fraction of the price after discounts, per product type (`tax_base_fractions`):
    # 1/1 by default (the rates above apply to the whole price); PMK 131/2024's 12% on DPP nilai lain is
    # LANGGANAN_TAX_RATE_*=12 with LANGGANAN_TAX_BASE_*=11/12.
    tax_base_subscription: TaxBase = "1/1"
    tax_base_add_on: TaxBase = "1/1"
    tax_base_top_up: TaxBase = "1/1"
    # Seller identity printed on every invoice (`seller` gives them as the invoice's dict).
    seller_name: str = DEFAULT_SELLER["name"]
    seller_address: str = DEFAULT_SELLER["address"]
    seller_npwp: Npwp = DEFAULT_SELLER["npwp"]
    # The seller's NITKU (22 digits) on its Coretax tax invoices; unset: the NPWP's head office (NPWP + 000000).
    seller_nitku: Nitku = DEFAULT_SELLER["nitku"]
    seller_email: str = DEFAULT_SELLER["email"]
    seller_bank_name: str = DEFAULT_SELLER["bank_name"]
    seller_bank_account: str = DEFAULT_SELLER["bank_account"]
    seller_bank_account_name: str = DEFAULT_SELLER["bank_account_name"]
    # Email (LANGGANAN_SMTP_*): no host means the sandbox mailer, which records messages instead of sending.
    smtp_host: OptionalText = None
    smtp_port: Port = 587  # SMTP_SSL_PORT when unset and smtp_tls is ssl
    smtp_username: OptionalText = None
    smtp_password: OptionalText = None
    smtp_tls: Annotated[SmtpTls, _choice(SMTP_TLS_MODES, any_case=True)] = "starttls"
    smtp_from: str = "langganan <billing@langganan.example>"
    # Where customers reach this service: the links in emails (pay an invoice in the portal) start with it.
    public_url: PublicUrl = "http://127.0.0.1:8000"
    # Delivery of emails and webhooks (wall time, rule 14): attempts, exponential backoff, timeouts.
    delivery_max_attempts: Count = 8
    delivery_backoff_seconds: Backoff = 30.0
    delivery_backoff_max_seconds: Backoff = 6 * 3600.0
    delivery_timeout_seconds: Seconds = 10.0
    # Usage alerts: the low-balance threshold of a wallet that has none of its own (`low_balance_thresholds`).
    low_balance_conversation: Threshold = DEFAULT_LOW_BALANCE["conversation"]
    low_balance_broadcast: Threshold = DEFAULT_LOW_BALANCE["broadcast"]
    # Lifecycle (issue 4): when renewal invoices, reminders, retries and notices fall due.
    renewal_invoice_days: Days = 7  # bank transfer: renewal invoice (with its VA) this many days before period end
    renewal_reminder_days: DayList = (1, 3)  # reminders this many days before period end
    grace_days: Days = 3  # bank transfer: past_due this long after period end, then Free
    card_retry_days: DayList = (1, 3, 5)  # card: retries this many days after period end, then Free
    trial_notice_days: Days = 7  # trial.will_end this many days before the trial ends
    promotion_notice_days: Days = 7  # promotion.ending this many days before a promotion ends
    charge_lease_seconds: Count = 300  # wall time after which an unfinished renewal charge is retried
    due_batch: Count = 200  # subscriptions a worker claims per transaction, at most
    # Request bodies larger than these are refused with 413 while they are read (kit/bodylimit.py).
    max_body_bytes: BodyLimit = DEFAULT_BODY_LIMITS["default"]
    max_body_bytes_usage_batch: BodyLimit = DEFAULT_BODY_LIMITS["usage_batch"]
    max_body_bytes_import: BodyLimit = DEFAULT_BODY_LIMITS["import"]
    # Where `serve` and `worker` expose /metrics on a listener of their own; None: on the app, admin key only.
    metrics_address: Address = None
    # Log lines on standard error (logs.py): one JSON object per line, or text for a person (`serve --demo`
    # writes text unless this is set); and the least severe level written (info: one line per request).
    log_format: Annotated[LogFormat, _choice(LOG_FORMATS, any_case=True)] = "json"
    log_level: Annotated[LogLevel, _choice(LOG_LEVELS, any_case=True)] = "info"
    # Waiting for the database (issue 11): a request waits this long for a lock, then is answered 503 with
    # Retry-After; background work (due work, deliveries) waits longer; and each background batch is
    # sized so that its transaction lasts about `batch_seconds` (on SQLite it holds the one write lock).
    lock_wait_seconds: Seconds = 5.0
    worker_lock_wait_seconds: Seconds = 30.0
    batch_seconds: Seconds = 0.25
    # SIGTERM (issue 17): `serve` stops accepting, waits this long for the requests in flight (then cancels them)
    # and for its in-process worker's batch; `worker` finishes its batch and exits.
    shutdown_grace_seconds: Count = 30
    # History and retention (issue 17; history/retention.py): operational history older than this many whole
    # calendar months (UTC) is exported and removed by `langganan archive`; 0 keeps it forever. Money records
    # (the ledger, invoices, payments, credit notes, the audit log) and events are never removed.
    retention_delivery_months: Months = 0  # finished deliveries and every delivery attempt
    retention_notification_months: Months = 0  # the in-app feed
    retention_login_months: Months = 0  # console login attempts
    retention_session_months: Months = 0  # web sessions, counted from when they expired
    # When set, the worker runs that archive into this directory once a day (history/upkeep.py); unset: only
    # `langganan archive` does (from cron). Either way one archive runs at a time.
    archive_dir: OptionalText = None

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        """`Settings(...)` takes only its arguments: the environment is read by `from_env`, where asked."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _smtp_ssl_port(cls, values: Any) -> Any:
        """Implicit TLS listens on its own port: LANGGANAN_SMTP_TLS=ssl without LANGGANAN_SMTP_PORT means 465."""
        if isinstance(values, dict) and "smtp_port" not in values \
                and str(values.get("smtp_tls", "")).strip().lower() == "ssl":
            return {**values, "smtp_port": SMTP_SSL_PORT}
        return values

    @property
    def sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def tax_bps(self) -> dict[str, int]:
        """Tax rate per product type in basis points (11% -> 1100)."""
        return {kind: int(getattr(self, f"tax_rate_{kind}") * 100) for kind in TAXED_TYPES}

    @property
    def tax_base_fractions(self) -> dict[str, tuple[int, int]]:
        """Tax-base fraction (DPP) per product type as (numerator, denominator): 11/12 -> (11, 12)."""
        return {kind: fraction_parts(getattr(self, f"tax_base_{kind}")) for kind in TAXED_TYPES}

    @property
    def seller_npwp16(self) -> str:
        """The seller's NPWP as Coretax takes it: 16 digits."""
        return npwp_digits(self.seller_npwp) or ""

    @property
    def seller(self) -> dict[str, str]:
        """The seller as copied onto an invoice: DEFAULT_SELLER's keys (the NITKU of the head office when
        LANGGANAN_SELLER_NITKU is unset)."""
        values = {key: getattr(self, f"seller_{key}") for key in DEFAULT_SELLER}
        values["nitku"] = self.seller_nitku or head_office_nitku(self.seller_npwp16)
        return values

    @property
    def low_balance_thresholds(self) -> dict[str, int]:
        return {kind: getattr(self, f"low_balance_{kind}") for kind in DEFAULT_LOW_BALANCE}

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read the LANGGANAN_* variables (and `overrides`, by field name, over them); a value that cannot be
        used raises one ConfigError naming it."""
        values = {**EnvSettingsSource(cls)(), **overrides}
        try:
            settings = cls(**values)
        except ValidationError as exc:
            raise config_error(exc) from None
        settings.check()
        return settings

    def check(self) -> None:
        """What the values mean together: live mode takes real money, so it needs a real gateway with its keys
        and nothing anyone else knows. Raises one ConfigError naming the variable."""
        if self.seller_nitku is not None and not self.seller_nitku.startswith(self.seller_npwp16):
            raise ConfigError(f"LANGGANAN_SELLER_NITKU={self.seller_nitku} must begin with the seller's 16-digit "
                              f"NPWP {self.seller_npwp16} (LANGGANAN_SELLER_NPWP)")
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
        if urlsplit(self.public_url).scheme != "https" \
                and urlsplit(self.public_url).hostname not in ("localhost", "127.0.0.1", "::1"):
            raise ConfigError(f"LANGGANAN_PUBLIC_URL={self.public_url} must be https:// in live mode: emailed "
                              "links sign customers in")
        if self.bootstrap_api_key is not None and len(self.bootstrap_api_key) < MIN_LIVE_BOOTSTRAP_KEY:
            raise ConfigError(f"LANGGANAN_BOOTSTRAP_API_KEY must be at least {MIN_LIVE_BOOTSTRAP_KEY} characters in "
                              "live mode (or unset: create keys with `langganan api-keys create`)")


def config_error(exc: ValidationError) -> ConfigError:
    """The first thing wrong, as one line naming its variable: the ConfigError a check raised, or pydantic's
    own words (a value of the wrong type passed in code, a name that is no setting)."""
    first = exc.errors()[0]
    raised = first.get("ctx", {}).get("error")
    if isinstance(raised, ConfigError):
        return raised
    name = f"{ENV_PREFIX}{str(first['loc'][0]).upper()}" if first["loc"] else "LANGGANAN_*"
    return ConfigError(f"{name}: {first['msg']}")
