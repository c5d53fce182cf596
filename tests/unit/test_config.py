"""Settings.from_env: every LANGGANAN_* value that cannot be used is one ConfigError that names it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from langganan.config import DEFAULT_LOW_BALANCE, DEFAULT_SELLER, ConfigError, Settings

EXAMPLE = Path(__file__).parents[2] / ".env.example"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("LANGGANAN_")]:
        monkeypatch.delenv(name)


def test_the_defaults_are_written_once_and_settings_alone_reads_no_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty environment gives the field defaults; `Settings()` is those defaults whatever the environment
    says, and only `from_env` reads it (the defaults are checked by the same validators)."""
    assert Settings.from_env() == Settings()
    monkeypatch.setenv("LANGGANAN_DUE_BATCH", "5")
    monkeypatch.setenv("LANGGANAN_REQUIRE_POSTGRES", "1")  # the test suite's own switch: no setting, ignored
    assert (Settings().due_batch, Settings.from_env().due_batch) == (200, 5)
    assert Settings.from_env(due_batch=7).due_batch == 7  # an override wins over the environment
    with pytest.raises(ConfigError, match=r"^LANGGANAN_DUE_BATCH=0 must be at least 1$"):
        Settings.from_env(due_batch=0)  # and is checked like it


def test_a_value_given_in_code_is_checked_too() -> None:
    with pytest.raises(ValidationError, match="LANGGANAN_GRACE_DAYS=-1 must be at least 0"):
        Settings(grace_days=-1)
    s = Settings(card_retry_days=(5, 1), metrics_address=("::1", 9464), tax_rate_top_up=11)  # type: ignore[arg-type]
    assert (s.card_retry_days, s.metrics_address, s.tax_bps["top_up"]) == ((1, 5), ("::1", 9464), 1100)


def test_the_example_file_lists_every_variable_once() -> None:
    names = [line.partition("=")[0] for line in EXAMPLE.read_text().splitlines() if line and line[0] != "#"]
    assert sorted(names) == sorted(f"LANGGANAN_{field.upper()}" for field in Settings.model_fields)


def test_grouped_values_are_read_into_the_dicts_other_modules_take(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert (defaults.seller, defaults.low_balance_thresholds) == (DEFAULT_SELLER, DEFAULT_LOW_BALANCE)
    assert defaults.tax_bps == {"subscription": 0, "add_on": 0, "top_up": 0}
    for name, value in {"SELLER_BANK_ACCOUNT_NAME": "PT Lain", "LOW_BALANCE_BROADCAST": "0", "TAX_RATE_ADD_ON": "11.5",
                        "SMTP_TLS": "ssl", "SMTP_PORT": "2465"}.items():
        monkeypatch.setenv(f"LANGGANAN_{name}", value)
    s = Settings.from_env()
    assert (s.seller["bank_account_name"], s.seller["name"]) == ("PT Lain", DEFAULT_SELLER["name"])
    assert s.low_balance_thresholds == {"conversation": 5000, "broadcast": 0}
    assert s.tax_bps == {"subscription": 0, "add_on": 1150, "top_up": 0}
    assert s.smtp_port == 2465  # a port given wins over the implicit-TLS default


# Every numeric variable, a value beyond its range, and the exact line the CLI prints after "configuration error:".
NUMERIC_BOUNDS = [
    ("INVOICE_PAYMENT_DAYS", "0", "LANGGANAN_INVOICE_PAYMENT_DAYS=0 must be at least 1"),
    ("VA_EXPIRY_HOURS", "0", "LANGGANAN_VA_EXPIRY_HOURS=0 must be at least 1"),
    ("GATEWAY_TIMEOUT_SECONDS", "0", "LANGGANAN_GATEWAY_TIMEOUT_SECONDS=0 must be a positive number of seconds"),
    ("QRIS_EXPIRY_MINUTES", "0", "LANGGANAN_QRIS_EXPIRY_MINUTES=0 must be at least 1"),
    ("QRIS_MAX_AMOUNT", "-5", "LANGGANAN_QRIS_MAX_AMOUNT=-5 must be at least 1"),
    ("AUTO_TOP_UP_INTERVAL_MINUTES", "0", "LANGGANAN_AUTO_TOP_UP_INTERVAL_MINUTES=0 must be at least 1"),
    ("PAYMENT_STATUS_CHECK_MINUTES", "0", "LANGGANAN_PAYMENT_STATUS_CHECK_MINUTES=0 must be at least 1"),
    ("WORKER_INTERVAL_SECONDS", "-1", "LANGGANAN_WORKER_INTERVAL_SECONDS=-1 must be a positive number of seconds"),
    ("SMTP_PORT", "0", "LANGGANAN_SMTP_PORT=0 must be from 1 to 65535"),
    ("SMTP_PORT", "65536", "LANGGANAN_SMTP_PORT=65536 must be from 1 to 65535"),
    ("DELIVERY_MAX_ATTEMPTS", "0", "LANGGANAN_DELIVERY_MAX_ATTEMPTS=0 must be at least 1"),
    ("DELIVERY_BACKOFF_SECONDS", "-0.5",
     "LANGGANAN_DELIVERY_BACKOFF_SECONDS=-0.5 must be a non-negative number of seconds"),
    ("DELIVERY_BACKOFF_MAX_SECONDS", "-inf",
     "LANGGANAN_DELIVERY_BACKOFF_MAX_SECONDS=-inf must be a non-negative number of seconds"),
    ("DELIVERY_TIMEOUT_SECONDS", "0", "LANGGANAN_DELIVERY_TIMEOUT_SECONDS=0 must be a positive number of seconds"),
    ("LOW_BALANCE_CONVERSATION", "-1", "LANGGANAN_LOW_BALANCE_CONVERSATION=-1 must be at least 0"),
    ("LOW_BALANCE_BROADCAST", "-1", "LANGGANAN_LOW_BALANCE_BROADCAST=-1 must be at least 0"),
    ("RENEWAL_INVOICE_DAYS", "-1", "LANGGANAN_RENEWAL_INVOICE_DAYS=-1 must be at least 0"),
    ("GRACE_DAYS", " -2 ", "LANGGANAN_GRACE_DAYS=-2 must be at least 0"),
    ("TRIAL_NOTICE_DAYS", "-1", "LANGGANAN_TRIAL_NOTICE_DAYS=-1 must be at least 0"),
    ("PROMOTION_NOTICE_DAYS", "-1", "LANGGANAN_PROMOTION_NOTICE_DAYS=-1 must be at least 0"),
    ("CHARGE_LEASE_SECONDS", "0", "LANGGANAN_CHARGE_LEASE_SECONDS=0 must be at least 1"),
    ("DUE_BATCH", "0", "LANGGANAN_DUE_BATCH=0 must be at least 1"),
    ("MAX_BODY_BYTES", "1023", "LANGGANAN_MAX_BODY_BYTES=1023 must be from 1024 to 67108864"),
    ("MAX_BODY_BYTES_USAGE_BATCH", "67108865",
     "LANGGANAN_MAX_BODY_BYTES_USAGE_BATCH=67108865 must be from 1024 to 67108864"),
    ("MAX_BODY_BYTES_IMPORT", "1023", "LANGGANAN_MAX_BODY_BYTES_IMPORT=1023 must be from 1024 to 67108864"),
    ("LOCK_WAIT_SECONDS", "0", "LANGGANAN_LOCK_WAIT_SECONDS=0 must be a positive number of seconds"),
    ("WORKER_LOCK_WAIT_SECONDS", "nan", "LANGGANAN_WORKER_LOCK_WAIT_SECONDS=nan must be a positive number of seconds"),
    ("BATCH_SECONDS", "-0", "LANGGANAN_BATCH_SECONDS=-0 must be a positive number of seconds"),
    ("SHUTDOWN_GRACE_SECONDS", "0", "LANGGANAN_SHUTDOWN_GRACE_SECONDS=0 must be at least 1"),
    ("RETENTION_DELIVERY_MONTHS", "-1", "LANGGANAN_RETENTION_DELIVERY_MONTHS=-1 must be from 0 to 1200"),
    ("RETENTION_NOTIFICATION_MONTHS", "1201",
     "LANGGANAN_RETENTION_NOTIFICATION_MONTHS=1201 must be from 0 to 1200"),
    ("RETENTION_LOGIN_MONTHS", "x", "LANGGANAN_RETENTION_LOGIN_MONTHS='x' is not a whole number"),
    ("RETENTION_SESSION_MONTHS", "-3", "LANGGANAN_RETENTION_SESSION_MONTHS=-3 must be from 0 to 1200"),
]


@pytest.mark.parametrize(("name", "value", "line"), NUMERIC_BOUNDS)
def test_a_number_out_of_range_is_one_line_naming_the_variable_and_its_range(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, line: str) -> None:
    monkeypatch.setenv(f"LANGGANAN_{name}", value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert str(err.value) == line


def test_every_numeric_variable_has_its_range_checked_above() -> None:
    numeric = {f"LANGGANAN_{name.upper()}" for name, field in Settings.model_fields.items()
               if field.annotation in (int, float)}
    assert numeric == {f"LANGGANAN_{name}" for name, _, _ in NUMERIC_BOUNDS}


@pytest.mark.parametrize(("name", "value", "line"), [
    ("MODE", "Live", "LANGGANAN_MODE must be sandbox or live"),  # exact: mode is case-sensitive
    ("GATEWAY", "stripe", "LANGGANAN_GATEWAY must be sandbox, midtrans or xendit"),
    ("SMTP_TLS", "tls", "LANGGANAN_SMTP_TLS must be none, starttls or ssl"),
    ("LOG_FORMAT", "logfmt", "LANGGANAN_LOG_FORMAT must be json or text"),
    ("LOG_LEVEL", "verbose", "LANGGANAN_LOG_LEVEL must be debug, info, warning or error"),
    ("SELLER_TIMEZONE", "Asia/Jakarta ",
     "LANGGANAN_SELLER_TIMEZONE='Asia/Jakarta ' is not a known IANA time zone, e.g. Asia/Jakarta"),
    ("SELLER_TIMEZONE", "WIB", "LANGGANAN_SELLER_TIMEZONE='WIB' is not a known IANA time zone, e.g. Asia/Jakarta"),
])
def test_a_bad_choice_or_an_unknown_zone_is_one_line_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, line: str) -> None:
    monkeypatch.setenv(f"LANGGANAN_{name}", value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert str(err.value) == line


def test_good_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"GRACE_DAYS": "0", "CARD_RETRY_DAYS": " 5, 1 ,3", "DUE_BATCH": " 50 ",
                        "SMTP_TLS": "SSL", "CLOCK_START": "2026-01-15T10:00:00+07:00", "TAX_RATE_SUBSCRIPTION": "11",
                        "LOG_FORMAT": "Text", "LOG_LEVEL": "WARNING",
                        "DELIVERY_BACKOFF_SECONDS": "0", "SELLER_TIMEZONE": "Asia/Makassar",
                        "LOCK_WAIT_SECONDS": "0.5", "WORKER_LOCK_WAIT_SECONDS": "60", "BATCH_SECONDS": "1"}.items():
        monkeypatch.setenv(f"LANGGANAN_{name}", value)
    s = Settings.from_env()
    assert (s.grace_days, s.card_retry_days, s.due_batch, s.smtp_tls, s.smtp_port) == (0, (1, 3, 5), 50, "ssl", 465)
    assert s.clock_start == datetime(2026, 1, 15, 3, tzinfo=UTC) and s.tax_bps["subscription"] == 1100
    assert (s.delivery_backoff_seconds, s.seller_timezone) == (0.0, "Asia/Makassar")
    assert (s.lock_wait_seconds, s.worker_lock_wait_seconds, s.batch_seconds) == (0.5, 60.0, 1.0)
    assert (s.log_format, s.log_level) == ("text", "warning")


@pytest.mark.parametrize(("name", "value", "says"), [
    ("DUE_BATCH", "0", "must be at least 1"),           # would silently stop every renewal
    ("DUE_BATCH", "ten", "is not a whole number"),
    ("GRACE_DAYS", "-1", "must be at least 0"),
    ("TRIAL_NOTICE_DAYS", "-7", "must be at least 0"),
    ("PROMOTION_NOTICE_DAYS", "1.5", "is not a whole number"),
    ("RENEWAL_INVOICE_DAYS", "-1", "must be at least 0"),
    ("CHARGE_LEASE_SECONDS", "-300", "must be at least 1"),
    ("INVOICE_PAYMENT_DAYS", "0", "must be at least 1"),
    ("VA_EXPIRY_HOURS", "", "is not a whole number"),
    ("DELIVERY_MAX_ATTEMPTS", "0", "must be at least 1"),
    ("LOW_BALANCE_CONVERSATION", "-1", "must be at least 0"),
    ("SMTP_PORT", "70000", "must be from 1 to 65535"),
    ("CARD_RETRY_DAYS", "1,1", "must be distinct whole days"),
    ("CARD_RETRY_DAYS", "1,x", "must be distinct whole days"),
    ("RENEWAL_REMINDER_DAYS", "-1", "must be distinct whole days"),
    ("WORKER_INTERVAL_SECONDS", "0", "must be a positive number"),
    ("WORKER_INTERVAL_SECONDS", "soon", "is not a number"),
    ("DELIVERY_TIMEOUT_SECONDS", "nan", "must be a positive number"),
    ("DELIVERY_BACKOFF_SECONDS", "-1", "must be a non-negative number"),
    ("LOCK_WAIT_SECONDS", "0", "must be a positive number"),  # PostgreSQL's lock_timeout=0 waits forever
    ("LOCK_WAIT_SECONDS", "5s", "is not a number"),
    ("WORKER_LOCK_WAIT_SECONDS", "-30", "must be a positive number"),
    ("BATCH_SECONDS", "inf", "must be a positive number"),
    ("CLOCK_START", "yesterday", "RFC 3339 instant"),
    ("CLOCK_START", "2026-01-15T10:00:00", "RFC 3339 instant"),  # no UTC offset
    ("TAX_RATE_ADD_ON", "eleven", "non-negative percent"),
    ("TAX_RATE_TOP_UP", "-11", "non-negative percent"),
    ("SELLER_TIMEZONE", "Mars/Olympus", "IANA time zone"),
    ("TAX_BASE_SUBSCRIPTION", "0/12", "must be a fraction n/d with 0 < n <= d <= 1000"),
    ("TAX_BASE_ADD_ON", "13/12", "must be a fraction n/d with 0 < n <= d <= 1000"),
    ("TAX_BASE_TOP_UP", "11/1001", "must be a fraction n/d with 0 < n <= d <= 1000"),
    ("TAX_BASE_TOP_UP", "0.9166", "must be a fraction n/d"),
    ("SELLER_NPWP", "12.345", "must be an NPWP of 15 or 16 digits"),
    ("SELLER_NITKU", "0012345678901000", "must be a NITKU of 22 digits"),
    ("SELLER_NITKU", "0098765432109876000000", "must begin with the seller's 16-digit NPWP 0012345678901000"),
    ("MODE", "production", "must be sandbox or live"),
    ("SMTP_TLS", "tls", "must be none, starttls or ssl"),
])
def test_a_bad_value_is_one_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                                             value: str, says: str) -> None:
    monkeypatch.setenv(f"LANGGANAN_{name}", value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert f"LANGGANAN_{name}" in str(err.value) and says in str(err.value)


def test_the_tax_base_and_the_sellers_tax_identity_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert defaults.tax_base_fractions == {"subscription": (1, 1), "add_on": (1, 1), "top_up": (1, 1)}
    assert (defaults.seller_npwp16, defaults.seller["nitku"]) == ("0012345678901000", "0012345678901000000000")
    for name, value in {"TAX_RATE_SUBSCRIPTION": "12", "TAX_BASE_SUBSCRIPTION": " 11 / 12 ", "TAX_BASE_ADD_ON": "1",
                        "SELLER_NPWP": "0987654321098765", "SELLER_NITKU": ""}.items():
        monkeypatch.setenv(f"LANGGANAN_{name}", value)
    s = Settings.from_env()
    assert s.tax_base_fractions == {"subscription": (11, 12), "add_on": (1, 1), "top_up": (1, 1)}
    assert s.tax_base_subscription == "11/12" and s.tax_bps["subscription"] == 1200
    assert s.seller["nitku"] == "0987654321098765000000"  # unset: the head office of the NPWP
    monkeypatch.setenv("LANGGANAN_SELLER_NITKU", "0987654321098765000123")
    assert Settings.from_env().seller["nitku"] == "0987654321098765000123"


MIDTRANS = {"GATEWAY": "midtrans", "MIDTRANS_SERVER_KEY": "SB-Mid-server-x", "MIDTRANS_CLIENT_KEY": "SB-Mid-client-x"}
XENDIT = {"GATEWAY": "xendit", "XENDIT_SECRET_KEY": "xnd_development_x", "XENDIT_CALLBACK_TOKEN": "token-x"}


@pytest.mark.parametrize(("values", "name", "says"), [
    ({"MODE": "live"}, "LANGGANAN_GATEWAY", "live mode"),  # the default gateway is the sandbox one
    ({"MODE": "live", "GATEWAY": "sandbox"}, "LANGGANAN_GATEWAY", "live mode"),
    ({"MODE": "live", "GATEWAY": "Midtrans"}, "LANGGANAN_GATEWAY", "must be sandbox, midtrans or xendit"),
    ({"MODE": "live", "GATEWAY": "midtrans"}, "LANGGANAN_MIDTRANS_SERVER_KEY and LANGGANAN_MIDTRANS_CLIENT_KEY",
     "needs"),
    ({**MIDTRANS, "MIDTRANS_CLIENT_KEY": ""}, "LANGGANAN_MIDTRANS_CLIENT_KEY", "needs"),
    ({**MIDTRANS, "MIDTRANS_CLIENT_KEY": "   "}, "LANGGANAN_MIDTRANS_CLIENT_KEY", "needs"),
    ({"GATEWAY": "xendit", "XENDIT_SECRET_KEY": "x"}, "LANGGANAN_XENDIT_CALLBACK_TOKEN", "needs"),
    ({**XENDIT, "XENDIT_SECRET_KEY": " xnd_development_x"}, "LANGGANAN_XENDIT_SECRET_KEY", "spaces"),
    ({**MIDTRANS, "MIDTRANS_BASE_URL": "http://api.midtrans.com"}, "LANGGANAN_MIDTRANS_BASE_URL", "https://"),
    ({**XENDIT, "XENDIT_BASE_URL": "api.xendit.co"}, "LANGGANAN_XENDIT_BASE_URL", "https://"),
    ({"SANDBOX_GATEWAY_SECRET": "sandbox-secret-change-me"}, "LANGGANAN_SANDBOX_GATEWAY_SECRET", "published"),
    ({"MODE": "live", **XENDIT, "BOOTSTRAP_API_KEY": "admin"}, "LANGGANAN_BOOTSTRAP_API_KEY", "at least 32"),
    ({"MAX_BODY_BYTES": "0"}, "LANGGANAN_MAX_BODY_BYTES", "must be from 1024 to 67108864"),
    ({"MAX_BODY_BYTES_USAGE_BATCH": "1e6"}, "LANGGANAN_MAX_BODY_BYTES_USAGE_BATCH", "is not a whole number"),
    ({"MAX_BODY_BYTES_IMPORT": str(10**9)}, "LANGGANAN_MAX_BODY_BYTES_IMPORT", "must be from 1024"),
    ({"METRICS_ADDRESS": "9464"}, "LANGGANAN_METRICS_ADDRESS", "an IP address and a port"),
    ({"METRICS_ADDRESS": "metrics.internal:9464"}, "LANGGANAN_METRICS_ADDRESS", "an IP address and a port"),
    ({"METRICS_ADDRESS": "127.0.0.1:99999"}, "LANGGANAN_METRICS_ADDRESS", "an IP address and a port"),
    ({"PUBLIC_URL": "billing.example.com"}, "LANGGANAN_PUBLIC_URL", "must be the http(s):// address"),
    ({"PUBLIC_URL": "https://billing.example.com/?x=1"}, "LANGGANAN_PUBLIC_URL", "must be the http(s):// address"),
    ({"PUBLIC_URL": "ftp://billing.example.com"}, "LANGGANAN_PUBLIC_URL", "must be the http(s):// address"),
    # emailed links sign customers in: never over plain http in live mode (but to this machine)
    ({"MODE": "live", **XENDIT, "PUBLIC_URL": "http://billing.example.com"}, "LANGGANAN_PUBLIC_URL", "https://"),
])
def test_gateway_secret_and_limit_settings_are_refused_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, values: dict[str, str], name: str, says: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"LANGGANAN_{key}", value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert name in str(err.value) and says in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_no_secret_has_a_default_and_gateway_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings.from_env()
    secrets = {"sandbox_gateway_secret", "midtrans_server_key", "midtrans_client_key", "xendit_secret_key",
               "xendit_callback_token", "smtp_password", "bootstrap_api_key"}
    assert {name: getattr(defaults, name) for name in secrets} == dict.fromkeys(secrets)
    for key, value in {**MIDTRANS, "MODE": "live", "MIDTRANS_BASE_URL": "http://127.0.0.1:8089/",
                       "METRICS_ADDRESS": "[::1]:9464", "MAX_BODY_BYTES": "4096"}.items():
        monkeypatch.setenv(f"LANGGANAN_{key}", value)
    s = Settings.from_env()
    assert (s.mode, s.gateway, s.midtrans_server_key, s.midtrans_client_key) == \
        ("live", "midtrans", "SB-Mid-server-x", "SB-Mid-client-x")
    assert (s.midtrans_base_url, s.xendit_base_url) == ("http://127.0.0.1:8089", "https://api.xendit.co")
    assert (s.metrics_address, s.max_body_bytes, s.max_body_bytes_usage_batch) == (("::1", 9464), 4096, 2 * 1024**2)
    assert (defaults.public_url, s.public_url) == ("http://127.0.0.1:8000", "http://127.0.0.1:8000")
    monkeypatch.setenv("LANGGANAN_PUBLIC_URL", " https://billing.example.com/langganan/ ")
    assert Settings.from_env().public_url == "https://billing.example.com/langganan"


def test_the_configured_gateway_is_the_one_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from langganan.app import check_gateway, make_gateway, open_database
    from langganan.payments.midtrans import MidtransGateway
    from langganan.payments.xendit import XenditGateway

    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    for key, value in XENDIT.items():
        monkeypatch.setenv(f"LANGGANAN_{key}", value)
    xendit = make_gateway(Settings.from_env(), db)
    assert isinstance(xendit, XenditGateway) and xendit.name == "xendit"
    for key, value in MIDTRANS.items():
        monkeypatch.setenv(f"LANGGANAN_{key}", value)
    midtrans = make_gateway(Settings.from_env(), db)
    assert isinstance(midtrans, MidtransGateway) and midtrans.name == "midtrans"
    check_gateway(Settings())  # the sandbox gateway in sandbox mode
    with pytest.raises(ConfigError, match="LANGGANAN_GATEWAY must be midtrans or xendit"):
        check_gateway(Settings(mode="live", sandbox_gateway_secret=None))
    db.dispose()


def test_the_example_file_is_a_valid_configuration_of_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for line in EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
    assert Settings.from_env() == Settings()
