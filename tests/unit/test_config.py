"""Settings.from_env: every LANGGANAN_* value that cannot be used is one ConfigError that names it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from langganan.config import ConfigError, Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("LANGGANAN_")]:
        monkeypatch.delenv(name)


def test_the_defaults_are_the_dataclass_defaults() -> None:
    assert Settings.from_env() == Settings()


def test_good_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"GRACE_DAYS": "0", "CARD_RETRY_DAYS": " 5, 1 ,3", "DUE_BATCH": " 50 ",
                        "SMTP_TLS": "SSL", "CLOCK_START": "2026-01-15T10:00:00+07:00", "TAX_RATE_SUBSCRIPTION": "11",
                        "DELIVERY_BACKOFF_SECONDS": "0", "SELLER_TIMEZONE": "Asia/Makassar",
                        "LOCK_WAIT_SECONDS": "0.5", "WORKER_LOCK_WAIT_SECONDS": "60", "BATCH_SECONDS": "1"}.items():
        monkeypatch.setenv(f"LANGGANAN_{name}", value)
    s = Settings.from_env()
    assert (s.grace_days, s.card_retry_days, s.due_batch, s.smtp_tls, s.smtp_port) == (0, (1, 3, 5), 50, "ssl", 465)
    assert s.clock_start == datetime(2026, 1, 15, 3, tzinfo=UTC) and s.tax_bps["subscription"] == 1100
    assert (s.delivery_backoff_seconds, s.seller_timezone) == (0.0, "Asia/Makassar")
    assert (s.lock_wait_seconds, s.worker_lock_wait_seconds, s.batch_seconds) == (0.5, 60.0, 1.0)


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
    ("MODE", "production", "must be sandbox or live"),
    ("SMTP_TLS", "tls", "must be none, starttls or ssl"),
])
def test_a_bad_value_is_one_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                                             value: str, says: str) -> None:
    monkeypatch.setenv(f"LANGGANAN_{name}", value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert f"LANGGANAN_{name}" in str(err.value) and says in str(err.value)
