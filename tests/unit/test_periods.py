"""Period math (DESIGN rule 1): half-open periods, anchor day kept and clamped, local wall time kept."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from langganan.kit.periods import (
    add_months_anchored,
    anchor_day_of,
    days_in_period,
    local_date,
    nth_period,
    period_end,
    remaining_days,
    wall_time_of,
)

JKT = "Asia/Jakarta"
NY = "America/New_York"
ZONES = [JKT, "UTC", NY, "Europe/London", "Australia/Sydney", "Asia/Kolkata"]

FAST = settings(max_examples=60, deadline=None)


def at(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


def local(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz))


def shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    y, m = divmod(year * 12 + (month - 1) + months, 12)
    return y, m + 1


def wall_time_exists(naive: datetime, tz: str) -> bool:
    """False when `naive` falls into a DST gap in `tz` (the wall time is skipped)."""
    aware = naive.replace(tzinfo=ZoneInfo(tz))
    return aware.astimezone(UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None) == naive


# ---------------------------------------------------------------------------------------------
# Explicit examples
# ---------------------------------------------------------------------------------------------


def test_jan_31_clamps_to_feb_28_and_returns_to_mar_31() -> None:
    start = at(JKT, 2026, 1, 31, 10, 0)
    feb = add_months_anchored(start, 1, 31, JKT)
    mar = add_months_anchored(feb, 1, 31, JKT)
    assert local(feb, JKT) == at(JKT, 2026, 2, 28, 10, 0)
    assert local(mar, JKT) == at(JKT, 2026, 3, 31, 10, 0)  # anchor kept, no drift to the 28th
    assert add_months_anchored(start, 2, 31, JKT) == mar
    assert period_end(start, "month", 31, JKT) == feb


def test_nth_period_keeps_anchor_31_across_short_months() -> None:
    anchor = at(JKT, 2026, 1, 31, 10, 0)
    ends = [local(nth_period(anchor, n, "month", JKT)[1], JKT).date().isoformat() for n in range(4)]
    assert ends == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]


def test_leap_year_feb_29() -> None:
    assert local(add_months_anchored(at(JKT, 2028, 1, 31, 9), 1, 31, JKT), JKT) == at(JKT, 2028, 2, 29, 9)
    start = at(JKT, 2028, 2, 29, 9, 15)
    assert local(period_end(start, "year", 29, JKT), JKT) == at(JKT, 2029, 2, 28, 9, 15)
    assert local(add_months_anchored(start, 48, 29, JKT), JKT) == at(JKT, 2032, 2, 29, 9, 15)
    # chaining year by year keeps the 29th anchor: 2029-02-28 -> 2030 -> 2031 -> 2032-02-29
    x = start
    for _ in range(4):
        x = period_end(x, "year", 29, JKT)
    assert local(x, JKT) == at(JKT, 2032, 2, 29, 9, 15)
    assert days_in_period(start, period_end(start, "year", 29, JKT), JKT) == 365
    jan = at(JKT, 2028, 1, 10)
    assert days_in_period(jan, period_end(jan, "year", 10, JKT), JKT) == 366


def test_jakarta_local_time_kept_and_result_is_utc() -> None:
    start = at(JKT, 2026, 11, 10, 10, 0)  # 03:00Z
    end = period_end(start, "month", 10, JKT)
    assert end.tzinfo is UTC
    assert end == datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
    assert local(end, JKT).hour == 10


def test_local_date_decides_the_anchor_not_utc() -> None:
    # 23:30 WIB on Jan 31 is still Jan 31 in Jakarta (16:30Z on Jan 31).
    late = at(JKT, 2026, 1, 31, 23, 30)
    assert anchor_day_of(late, JKT) == 31
    assert local(period_end(late, "month", 31, JKT), JKT) == at(JKT, 2026, 2, 28, 23, 30)
    # 20:00Z on Jan 31 is already 03:00 on Feb 1 in Jakarta: the anchor is the 1st.
    utc_jan31 = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    assert anchor_day_of(utc_jan31, JKT) == 1
    assert anchor_day_of(utc_jan31, "UTC") == 31
    assert local(period_end(utc_jan31, "month", 1, JKT), JKT) == at(JKT, 2026, 3, 1, 3, 0)


def test_remaining_days_counts_local_dates() -> None:
    start, end = at(JKT, 2026, 1, 10, 10), at(JKT, 2026, 2, 10, 10)
    assert days_in_period(start, end, JKT) == 31
    # 01:00 WIB on Feb 1 is 18:00Z on Jan 31: Feb 1..Feb 9 inclusive = 9 days, not 10.
    now = at(JKT, 2026, 2, 1, 1, 0)
    assert now.astimezone(UTC).day == 31
    assert local_date(now, JKT).isoformat() == "2026-02-01"
    assert remaining_days(now, start, end, JKT) == 9
    assert remaining_days(at(JKT, 2026, 1, 31, 23, 30), start, end, JKT) == 10
    assert remaining_days(start, start, end, JKT) == 31
    assert remaining_days(start - timedelta(days=3), start, end, JKT) == 31  # before start: full period
    assert remaining_days(end, start, end, JKT) == 0
    assert remaining_days(end + timedelta(days=3), start, end, JKT) == 0


def test_new_york_dst_keeps_local_wall_time() -> None:
    # DST starts 2026-03-08: 09:00 EST (14:00Z) -> 09:00 EDT (13:00Z).
    spring = at(NY, 2026, 3, 1, 9, 0)
    end = period_end(spring, "month", 1, NY)
    assert local(end, NY) == at(NY, 2026, 4, 1, 9, 0)
    assert end == datetime(2026, 4, 1, 13, 0, tzinfo=UTC)
    assert end - spring == timedelta(days=31) - timedelta(hours=1)
    assert days_in_period(spring, end, NY) == 31
    # DST ends 2026-11-01: 09:00 EDT -> 09:00 EST.
    autumn = at(NY, 2026, 10, 15, 9, 0)
    end = period_end(autumn, "month", 15, NY)
    assert local(end, NY) == at(NY, 2026, 11, 15, 9, 0)
    assert end == datetime(2026, 11, 15, 14, 0, tzinfo=UTC)
    assert days_in_period(autumn, end, NY) == 31


def test_dst_gap_does_not_drift_chained_periods() -> None:
    # 02:30 on 2026-03-08 does not exist in New York; that period ends at 03:30 EDT, and the next
    # one, chained from that end with the schedule's own time of day, returns to 02:30.
    start = at(NY, 2026, 2, 8, 2, 30)
    anchor = wall_time_of(start, NY)
    first = period_end(start, "month", 8, NY, anchor)
    assert local(first, NY).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    chained = period_end(first, "month", 8, NY, anchor)
    assert local(chained, NY).replace(tzinfo=None) == datetime(2026, 4, 8, 2, 30)
    assert chained == add_months_anchored(start, 2, 8, NY)


def test_the_schedules_time_of_day_is_kept_to_the_microsecond() -> None:
    # a subscription bought at 10:07:42.123456 in Jakarta keeps that instant of the day, whatever the
    # time of day of the instant its next period is counted from
    anchor = time(10, 7, 42, 123456)
    counted_from = at(JKT, 2026, 1, 10, 9, 0)
    end = period_end(counted_from, "month", 10, JKT, anchor)
    assert local(end, JKT).replace(tzinfo=None) == datetime(2026, 2, 10, 10, 7, 42, 123456)
    assert wall_time_of(end, JKT) == anchor  # the anchor's minutes, seconds and microseconds are kept
    assert end == datetime(2026, 2, 10, 3, 7, 42, 123456, tzinfo=UTC)


def test_a_schedule_anchored_at_the_second_1_30_of_a_fall_back_night_keeps_the_second_one() -> None:
    # bought at 01:30 EST on 2025-11-02, after the clocks went back: 01:30 happened twice that night
    bought = datetime(2025, 11, 2, 6, 30, tzinfo=UTC)
    anchor = wall_time_of(bought, NY)
    assert anchor.fold == 1
    # on 2026-11-01 01:30 happens twice again: the period ends at the second one (EST), not an hour early
    end = period_end(at(NY, 2026, 10, 1, 1, 30), "month", 1, NY, anchor)
    assert end == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    first = period_end(at(NY, 2026, 10, 1, 1, 30), "month", 1, NY, time(1, 30))
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_without_a_time_of_day_the_start_keeps_its_own() -> None:
    # (subscriptions from before anchor_time was kept: the period start's wall time, as before)
    start = at(NY, 2026, 3, 8, 3, 30)
    assert local(period_end(start, "month", 8, NY), NY).hour == 3


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@st.composite
def local_starts(draw: st.DrawFn) -> tuple[datetime, str]:
    tz = draw(st.sampled_from(ZONES))
    naive = draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31, 23, 59)))
    assume(wall_time_exists(naive, tz))
    return naive.replace(tzinfo=ZoneInfo(tz)), tz


anchors = st.integers(min_value=1, max_value=31)
month_counts = st.integers(min_value=1, max_value=30)


@FAST
@given(local_starts(), anchors, month_counts)
def test_add_months_lands_on_clamped_anchor_day(start_tz: tuple[datetime, str], anchor: int, n: int) -> None:
    start, tz = start_tz
    end = add_months_anchored(start, n, anchor, tz)
    assert end > start
    year, month = shift_month(start.year, start.month, n)
    got = local(end, tz)
    assert (got.year, got.month) == (year, month)
    assert got.day == min(anchor, calendar.monthrange(year, month)[1])
    wall = got.replace(hour=start.hour, minute=start.minute, second=start.second,
                       microsecond=start.microsecond, tzinfo=None)
    if wall_time_exists(wall, tz):
        assert got.replace(tzinfo=None) == wall  # local time of day kept


@FAST
@given(local_starts(), anchors, st.integers(min_value=1, max_value=24))
def test_chaining_month_by_month_equals_jumping(start_tz: tuple[datetime, str], anchor: int, n: int) -> None:
    start, tz = start_tz
    at_time = wall_time_of(start, tz)  # what a subscription keeps: DST gaps on the way do not drift it
    x = start
    for _ in range(n):
        x = add_months_anchored(x, 1, anchor, tz, at_time)
    assert x == add_months_anchored(start, n, anchor, tz)


@FAST
@given(local_starts(), st.sampled_from(["month", "year"]))
def test_nth_periods_tile(start_tz: tuple[datetime, str], interval: str) -> None:
    anchor, tz = start_tz
    periods = [nth_period(anchor, n, interval, tz) for n in range(13)]
    assert periods[0][0] == anchor
    for (s, e), (next_s, _) in itertools.pairwise(periods):
        assert s < e
        assert e == next_s  # half-open: no gap, no overlap
    for s, e in periods:
        days = days_in_period(s, e, tz)
        if interval == "month":
            assert 28 <= days <= 31
        else:
            assert days in (365, 366)
        assert local(e, tz).day == min(local(anchor, tz).day, calendar.monthrange(local(e, tz).year,
                                                                                  local(e, tz).month)[1])


@FAST
@given(local_starts(), st.sampled_from(["month", "year"]), st.floats(min_value=0, max_value=1,
                                                                     exclude_max=True))
def test_remaining_days_bounds(start_tz: tuple[datetime, str], interval: str, frac: float) -> None:
    start, tz = start_tz
    end = period_end(start, interval, anchor_day_of(start, tz), tz)
    total = days_in_period(start, end, tz)
    assert remaining_days(start, start, end, tz) == total
    now = start + (end - start) * frac
    assume(now < end)
    left = remaining_days(now, start, end, tz)
    assert 0 <= left <= total
    assert left == (local_date(end, tz) - local_date(now, tz)).days
    later = now + timedelta(days=1)
    assert remaining_days(later, start, end, tz) <= left  # never grows as time passes
