"""Legacy import rules without a database: reading the CSV, checking a row, the anniversary period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from langganan.legacy.rules import (
    FileInvalid,
    RowInvalid,
    allotment_start,
    anniversary_period,
    check_dates,
    parse_row,
    read_csv,
)

NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
JKT = "Asia/Jakarta"
ROW = {"account_key": "L-1", "name": "Toko", "email": "A@Example.id", "plan": "Growth",
       "enrolled_on": "2024-03-10", "last_unpaid_month": "2025-12"}


def wib(y: int, m: int, d: int) -> datetime:
    """Midnight in Jakarta as UTC."""
    return datetime(y, m, d, tzinfo=ZoneInfo(JKT)).astimezone(UTC)


def test_monthly_period_ends_on_the_next_enrollment_day_of_month() -> None:
    assert anniversary_period(date(2024, 3, 10), "month", JKT, NOW) == (wib(2026, 1, 10), wib(2026, 2, 10))
    assert anniversary_period(date(2024, 3, 20), "month", JKT, NOW) == (wib(2025, 12, 20), wib(2026, 1, 20))
    # enrolled today: the period is the first cycle
    assert anniversary_period(date(2026, 1, 15), "month", JKT, NOW) == (wib(2026, 1, 15), wib(2026, 2, 15))


def test_jan_31_anchor_is_clamped_to_month_end_and_kept() -> None:
    feb_1 = datetime(2026, 2, 1, 3, tzinfo=UTC)
    assert anniversary_period(date(2025, 1, 31), "month", JKT, feb_1) == (wib(2026, 1, 31), wib(2026, 2, 28))
    mar_1 = datetime(2026, 3, 1, 3, tzinfo=UTC)
    assert anniversary_period(date(2025, 1, 31), "month", JKT, mar_1) == (wib(2026, 2, 28), wib(2026, 3, 31))


def test_yearly_period_ends_on_the_enrollment_month_and_day() -> None:
    assert anniversary_period(date(2023, 3, 10), "year", JKT, NOW) == (wib(2025, 3, 10), wib(2026, 3, 10))
    assert anniversary_period(date(2020, 1, 15), "year", JKT, NOW) == (wib(2026, 1, 15), wib(2027, 1, 15))
    assert anniversary_period(date(2024, 2, 29), "year", JKT, NOW) == (wib(2025, 2, 28), wib(2026, 2, 28))


def test_the_period_end_is_midnight_in_the_account_zone() -> None:
    start, end = anniversary_period(date(2024, 3, 10), "month", "Asia/Jayapura", NOW)
    assert end == datetime(2026, 2, 9, 15, tzinfo=UTC) and start == datetime(2026, 1, 9, 15, tzinfo=UTC)


def test_a_yearly_period_gets_the_monthly_allotment_running_now() -> None:
    start, _end = anniversary_period(date(2023, 3, 10), "year", JKT, NOW)
    assert allotment_start(start, 10, JKT, NOW) == wib(2026, 1, 10)
    assert allotment_start(wib(2025, 3, 31), 31, JKT, NOW) == wib(2025, 12, 31)
    assert allotment_start(wib(2026, 1, 10), 10, JKT, NOW) == wib(2026, 1, 10)


def test_parse_normalises_and_checks_each_field() -> None:
    row = parse_row({**ROW, "interval": "Yearly", "locale": "EN"})
    assert (row.email, row.plan, row.interval, row.locale, row.timezone) == ("a@example.id", "growth", "year",
                                                                             "en", JKT)
    assert parse_row(ROW).fingerprint() == parse_row({**ROW, "name": " Toko ", "interval": ""}).fingerprint()
    bad = [({**ROW, "email": ""}, "missing_field", "email"), ({**ROW, "interval": "week"}, "invalid_interval",
                                                              "interval"),
           ({**ROW, "enrolled_on": "31/01/2024"}, "invalid_date", "enrolled_on"),
           ({**ROW, "enrolled_on": "2024-02-30"}, "invalid_date", "enrolled_on"),
           ({**ROW, "last_unpaid_month": "2025-13"}, "invalid_month", "last_unpaid_month"),
           # year 1 overflows once moved to UTC; anything before 1900 is a typo
           ({**ROW, "enrolled_on": "0001-01-01"}, "invalid_date", "enrolled_on"),
           ({**ROW, "enrolled_on": "1899-12-31"}, "invalid_date", "enrolled_on"),
           ({**ROW, "last_unpaid_month": "0001-01"}, "invalid_month", "last_unpaid_month"),
           ({**ROW, "timezone": "Mars/Olympus"}, "invalid_timezone", "timezone"),
           ({**ROW, "name": "x" * 201}, "field_too_long", "name"),
           ({**ROW, "account_key": "L\x001"}, "invalid_characters", "account_key")]
    for raw, code, param in bad:
        with pytest.raises(RowInvalid) as err:
            parse_row(raw)
        assert (err.value.code, err.value.param) == (code, param)
        assert err.value.message.endswith(".")
    assert parse_row({**ROW, "enrolled_on": "1900-01-01", "last_unpaid_month": "1900-01"}).enrolled_on.year == 1900


def test_dates_must_lie_before_the_import() -> None:
    check_dates(parse_row({**ROW, "enrolled_on": "2026-01-15", "last_unpaid_month": "2026-01"}), NOW)
    for raw, code in (({**ROW, "enrolled_on": "2026-01-16"}, "enrolled_in_future"),
                      ({**ROW, "last_unpaid_month": "2026-02"}, "unpaid_month_in_future"),
                      ({**ROW, "last_unpaid_month": "2024-02"}, "unpaid_month_before_enrollment")):
        with pytest.raises(RowInvalid) as err:
            check_dates(parse_row(raw), NOW)
        assert err.value.code == code


def test_csv_rows_carry_the_line_they_start_on() -> None:
    text = ('\ufeffAccount_Key,name,email,plan,enrolled_on,last_unpaid_month\n'
            'L-1,Toko,a@x.id,growth,2024-03-10,2025-12\n'
            '\n'
            'L-2,"Toko\nDua",b@x.id,pro,2024-03-10,2025-12\n'
            'L-3,Tiga,c@x.id,pro,2024-03-10,2025-12,extra\n'
            'L-4,Empat\n')
    rows = read_csv(text)
    assert [line for line, _ in rows] == [2, 4, 6, 7]
    assert rows[1][1]["name"] == "Toko\nDua"
    with pytest.raises(RowInvalid, match="7 fields"):
        parse_row(rows[2][1])
    with pytest.raises(RowInvalid) as err:
        parse_row(rows[3][1])
    assert err.value.param == "email"


@pytest.mark.parametrize(("text", "code"), [
    ("", "empty_file"),
    ("account_key,name,email,plan,enrolled_on\n", "missing_column"),
    ("account_key,name,email,plan,enrolled_on,last_unpaid_month,enrolment\n", "unknown_column"),
    ("account_key,name,email,plan,enrolled_on,last_unpaid_month,name\n", "duplicate_column"),
])
def test_a_file_without_a_usable_header_is_refused(text: str, code: str) -> None:
    with pytest.raises(FileInvalid) as err:
        read_csv(text)
    assert err.value.code == code
