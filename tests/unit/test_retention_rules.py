"""The retention rules (history/retention.py) without a database: calendar months, cutoffs, and that every table
the rules name exists and every table that grows with traffic is placed: kept forever, or under a setting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from langganan.config import Settings
from langganan.history import repository
from langganan.history.retention import KEPT, RULES, add_months, cutoff, label, month_start, months, parse_month
from langganan.models import metadata

NOW = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)


def test_months_are_utc_calendar_months_across_years() -> None:
    assert month_start(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 1, tzinfo=UTC), 3) == datetime(2027, 2, 1, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 1, tzinfo=UTC), -13) == datetime(2024, 12, 1, tzinfo=UTC)
    assert [label(m) for m in months(datetime(2026, 11, 20, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))] == [
        "2026-11", "2026-12", "2027-01"]
    assert repository.partition_name(datetime(2027, 2, 1, tzinfo=UTC)) == "delivery_attempts_2027_02"


def test_n_months_keep_this_month_and_the_n_before_and_zero_keeps_forever() -> None:
    settings = Settings(retention_delivery_months=3)
    rule = next(r for r in RULES if r.table == "deliveries")
    assert cutoff(settings, rule, NOW) == datetime(2026, 9, 1, tzinfo=UTC)
    assert cutoff(Settings(), rule, NOW) is None
    assert cutoff(Settings(), rule, NOW, before=datetime(2020, 1, 1, tzinfo=UTC)) is None  # --before never forces
    assert cutoff(settings, rule, NOW, before=datetime(2026, 5, 1, tzinfo=UTC)) == datetime(2026, 5, 1, tzinfo=UTC)
    assert cutoff(settings, rule, NOW, before=datetime(2026, 12, 1, tzinfo=UTC)) == datetime(2026, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-01", "2026/01", "", "0000-01", "2026-1"])
def test_a_month_is_written_yyyy_mm(text: str) -> None:
    with pytest.raises(ValueError):
        parse_month(text)


def test_the_rules_name_real_tables_and_settings_and_money_is_never_under_one() -> None:
    for rule in RULES:
        assert rule.table in metadata.tables and rule.setting in Settings.model_fields
        assert rule.table in repository.RETAINED and rule.reason
    assert set(KEPT) == set(repository.KEPT) and set(KEPT) <= set(metadata.tables)
    assert not set(KEPT) & {r.table for r in RULES}
    assert [r.table for r in RULES].index("delivery_attempts") < [r.table for r in RULES].index("deliveries")


def test_partitions_are_not_tables_of_the_models() -> None:
    assert repository.is_partition("delivery_attempts_2026_12") and repository.is_partition("delivery_attempts_default")
    assert not repository.is_partition("delivery_attempts") and not repository.is_partition("deliveries")
    assert repository.include_name("delivery_attempts_2026_12", "table", {}) is False
    assert repository.include_name("delivery_attempts", "table", {}) is True
