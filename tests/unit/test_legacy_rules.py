"""Legacy import rules without a database: reading the CSV, checking a row, the anniversary period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from langganan.legacy.rules import (
    FileInvalid,
    LegacyRow,
    RowInvalid,
    allotment_start,
    anniversary_period,
    changed_fields,
    check_dates,
    local_midnight,
    month_bounds,
    months_between,
    parse_row,
    read_csv,
)
from tests.unit.support import assert_sentence

NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
JKT = "Asia/Jakarta"
ROW = {"account_key": "L-1", "name": "Toko", "email": "A@Example.id", "plan": "Growth",
       "enrolled_on": "2024-03-10", "last_unpaid_month": "2025-12"}
HEADER = "account_key,name,email,plan,enrolled_on,last_unpaid_month"


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
        assert_sentence(err.value.message)
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


# ---------------------------------------------------------------------------------------------
# Each row and file error tells the operator what to fix
# ---------------------------------------------------------------------------------------------


def test_a_row_is_read_into_its_normalised_values() -> None:
    row = parse_row({**ROW, "account_key": " L-1 ", "name": " Toko Maju ", "interval": "Monthly", "locale": "EN",
                     "timezone": "Asia/Makassar", "last_unpaid_month": "2025-1"})
    assert row == LegacyRow(account_key="L-1", name="Toko Maju", email="a@example.id", plan="growth",
                            interval="month", enrolled_on=date(2024, 3, 10), last_unpaid_month="2025-01",
                            locale="en", timezone="Asia/Makassar")
    assert row.anchor_day == 10 and row.unpaid_month == (2025, 1)


@pytest.mark.parametrize(("written", "interval"), [("", "month"), ("month", "month"), ("monthly", "month"),
                                                   ("MONTHLY", "month"), ("year", "year"), ("Yearly", "year"),
                                                   ("annual", "year"), (" Annual ", "year")])
def test_the_interval_may_be_written_as_people_write_it(written: str, interval: str) -> None:
    assert parse_row({**ROW, "interval": written}).interval == interval


def test_the_fingerprint_of_a_row_stays_the_same_across_releases() -> None:
    # it is stored with each import; a re-run compares against it, so it must not change with the code
    assert parse_row(ROW).fingerprint() == "dab575da697dbe1c9d5214a79dc42d036aa774c7396c4df8bf6820e1ea90cc84"
    assert parse_row({**ROW, "name": "Toko Dua"}).fingerprint() != parse_row(ROW).fingerprint()


@pytest.mark.parametrize(("raw", "code", "param", "message"), [
    ({**ROW, "account_key": ""}, "missing_field", "account_key", "The row has no account key."),
    ({**ROW, "last_unpaid_month": " "}, "missing_field", "last_unpaid_month", "The row has no last unpaid month."),
    ({**ROW, "account_key": "L\x001"}, "invalid_characters", "account_key",
     "The account key contains a NUL character."),
    ({**ROW, "plan": "g" * 41}, "field_too_long", "plan", "The plan is longer than 40 characters."),
    ({**ROW, "account_key": "k" * 201}, "field_too_long", "account_key",
     "The account key is longer than 200 characters."),
    ({**ROW, "interval": "Week"}, "invalid_interval", "interval", "Interval 'Week' is not 'month' or 'year'."),
    ({**ROW, "enrolled_on": "31/01/2024"}, "invalid_date", "enrolled_on",
     "Enrollment date '31/01/2024' is not a date like 2024-03-31."),
    ({**ROW, "last_unpaid_month": "Dec 2025"}, "invalid_month", "last_unpaid_month",
     "Last unpaid month 'Dec 2025' is not a month like 2026-01."),
    ({"__error__": "it has 7 fields but the header has 6"}, "invalid_row", None,
     "The row cannot be read: it has 7 fields but the header has 6."),
])
def test_a_bad_row_names_its_column_and_what_is_wrong(raw: dict[str, str], code: str, param: str | None,
                                                      message: str) -> None:
    with pytest.raises(RowInvalid) as err:
        parse_row(raw)
    assert (err.value.code, err.value.param, err.value.message) == (code, param, message)


def test_fields_may_be_as_long_as_their_columns() -> None:
    row = parse_row({**ROW, "name": "n" * 200, "account_key": "k" * 200, "plan": "p" * 40, "locale": "l" * 40})
    assert (len(row.name), len(row.account_key), len(row.plan)) == (200, 200, 40)


def test_an_unknown_column_is_named_as_written_with_the_known_ones() -> None:
    with pytest.raises(FileInvalid) as err:
        read_csv("Xtra,account_key,name,email,plan,enrolled_on,last_unpaid_month\n")
    assert (err.value.code, err.value.param) == ("unknown_column", "xtra")
    assert err.value.message == ("Unknown column 'xtra'; the columns are account_key, name, email, plan, "
                                 "enrolled_on, last_unpaid_month, interval, locale, timezone.")


def test_a_missing_column_is_named_with_the_required_ones() -> None:
    with pytest.raises(FileInvalid) as err:
        read_csv("account_key,name,email,plan,enrolled_on\n")
    assert (err.value.code, err.value.param) == ("missing_column", "last_unpaid_month")
    assert err.value.message == ("The header has no 'last_unpaid_month' column; required columns are account_key, "
                                 "name, email, plan, enrolled_on, last_unpaid_month.")


@pytest.mark.parametrize(("text", "code"), [
    ("", "empty_file"),
    ("account_key,name,email,plan,enrolled_on,last_unpaid_month,name\n", "duplicate_column"),
])
def test_a_file_error_is_a_sentence(text: str, code: str) -> None:
    with pytest.raises(FileInvalid) as err:
        read_csv(text)
    assert (err.value.code, err.value.param) == (code, None)
    assert_sentence(err.value.message)


def test_a_file_that_is_not_csv_is_refused_with_its_line() -> None:
    huge = "x" * 200_000  # longer than a CSV field may be
    with pytest.raises(FileInvalid) as err:
        read_csv(f"{huge}\n")
    assert (err.value.code, err.value.param) == ("invalid_csv", None)
    assert err.value.message.startswith("Line 1 is not valid CSV: ")
    assert_sentence(err.value.message)
    with pytest.raises(FileInvalid) as err:
        read_csv(f"{HEADER}\nL-1,Toko,a@x.id,growth,2024-03-10,2025-12\nL-2,{huge},b@x.id,pro,2024-03-10,2025-12\n")
    assert err.value.code == "invalid_csv"
    assert err.value.message.startswith("Line 3 is not valid CSV: ")


def test_a_file_holds_at_most_ten_thousand_rows() -> None:
    rows = "".join(f"L-{i},Toko,a@x.id,growth,2024-03-10,2025-12\n" for i in range(10_000))
    assert len(read_csv(f"{HEADER}\n{rows}")) == 10_000
    with pytest.raises(FileInvalid) as err:
        read_csv(f"{HEADER}\n{rows}L-x,Toko,a@x.id,growth,2024-03-10,2025-12\n")
    assert (err.value.code, err.value.param) == ("too_many_rows", None)
    assert err.value.message == "A file holds at most 10000 rows; split it."


# ---------------------------------------------------------------------------------------------
# Dates are the account's dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [JKT, "Pacific/Kiritimati"])
def test_the_import_date_is_today_in_the_accounts_zone(tz: str) -> None:
    # 20:00 UTC on Jan 15 is already Jan 16 in Jakarta (and in Kiritimati): enrolled "today" there is allowed
    now = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
    check_dates(parse_row({**ROW, "timezone": tz, "enrolled_on": "2026-01-16", "last_unpaid_month": "2026-01"}),
                now)
    # and on Jan 31 at 20:00 UTC it is February there: February is not a future month
    check_dates(parse_row({**ROW, "timezone": tz, "last_unpaid_month": "2026-02"}),
                datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    with pytest.raises(RowInvalid):
        check_dates(parse_row({**ROW, "timezone": "UTC", "enrolled_on": "2026-01-16"}), now)


@pytest.mark.parametrize(("raw", "code", "param", "message"), [
    ({**ROW, "enrolled_on": "2026-01-16"}, "enrolled_in_future", "enrolled_on",
     "Enrollment date 2026-01-16 is after the import date 2026-01-15."),
    ({**ROW, "last_unpaid_month": "2026-02"}, "unpaid_month_in_future", "last_unpaid_month",
     "Last unpaid month 2026-02 is after the import month 2026-01."),
    ({**ROW, "last_unpaid_month": "2024-02"}, "unpaid_month_before_enrollment", "last_unpaid_month",
     "Last unpaid month 2024-02 is before the enrollment date 2024-03-10."),
])
def test_a_date_out_of_place_names_both_dates(raw: dict[str, str], code: str, param: str, message: str) -> None:
    with pytest.raises(RowInvalid) as err:
        check_dates(parse_row(raw), NOW)
    assert (err.value.code, err.value.param, err.value.message) == (code, param, message)


def test_period_bounds_are_utc_instants_of_local_midnight() -> None:
    midnight = local_midnight(date(2026, 2, 10), JKT)
    assert midnight == datetime(2026, 2, 9, 17, 0, tzinfo=UTC) and midnight.tzinfo is UTC
    start, end = anniversary_period(date(2024, 3, 10), "month", JKT, NOW)
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_months_are_counted_in_the_accounts_zone() -> None:
    tz = "Pacific/Kiritimati"  # UTC+14: 10:00 UTC on Jan 31 is midnight on Feb 1 there
    assert months_between(datetime(2026, 1, 31, 10, tzinfo=UTC), datetime(2026, 2, 28, 10, tzinfo=UTC), tz) == 1
    assert months_between(datetime(2026, 1, 31, 10, tzinfo=UTC), datetime(2026, 2, 28, 9, tzinfo=UTC), tz) == 0
    assert months_between(wib(2025, 3, 10), wib(2026, 1, 15), JKT) == 10


def test_imported_at_the_anniversary_itself_the_new_cycle_starts_then() -> None:
    at_midnight = wib(2026, 1, 10)
    assert anniversary_period(date(2024, 3, 10), "month", JKT, at_midnight) == (wib(2026, 1, 10), wib(2026, 2, 10))
    assert anniversary_period(date(2024, 1, 10), "year", JKT, at_midnight) == (wib(2026, 1, 10), wib(2027, 1, 10))


def test_a_yearly_allotment_starts_on_the_anchor_day_of_each_month() -> None:
    start = wib(2025, 3, 10)  # a yearly cycle from 10 March
    assert allotment_start(start, 10, JKT, wib(2025, 3, 25)) == start
    assert allotment_start(start, 10, JKT, wib(2025, 4, 9)) == start  # not a month early
    assert allotment_start(start, 10, JKT, wib(2025, 4, 10)) == wib(2025, 4, 10)  # from the anchor instant
    assert allotment_start(start, 10, JKT, wib(2025, 4, 15)) == wib(2025, 4, 10)
    assert allotment_start(start, 10, JKT, wib(2026, 3, 9)) == wib(2026, 2, 10)


def test_the_waived_month_runs_from_local_midnight_to_local_midnight() -> None:
    assert month_bounds(2025, 12, JKT) == (wib(2025, 12, 1), wib(2026, 1, 1))
    assert month_bounds(2026, 2, JKT) == (wib(2026, 2, 1), wib(2026, 3, 1))
    assert month_bounds(2026, 1, "UTC") == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


def test_a_conflicting_row_names_the_columns_that_changed() -> None:
    before = parse_row(ROW).as_dict()
    assert changed_fields(before, parse_row(ROW).as_dict()) == []
    after = parse_row({**ROW, "plan": "pro", "interval": "year"}).as_dict()
    assert changed_fields(before, after) == ["plan", "interval"]
    assert changed_fields({}, {"plan": "pro"}) == ["plan"]
