"""Plan-change rules (DESIGN rules 1-3): classify and quote_change over the shipped catalog."""

from __future__ import annotations

import calendar
import tomllib
from datetime import datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from langganan.accounts.models import Account
from langganan.accounts.service import require_billing_info
from langganan.catalog.rules import Catalog, Plan, parse_catalog
from langganan.invoices.rules import Line
from langganan.kit.errors import Conflict
from langganan.kit.money import round_half_up
from langganan.kit.periods import add_months_anchored, anchor_day_of, local_date, period_end
from langganan.promotions.rules import Terms
from langganan.subscriptions.rules import CurrentTerm, classify, exceeded_limits, quote_change
from tests.unit.support import assert_sentence

CATALOG_TOML = Path(__file__).resolve().parents[2] / "src" / "langganan" / "catalog.toml"
CATALOG: Catalog = parse_catalog(tomllib.loads(CATALOG_TOML.read_text(encoding="utf-8")))
PLANS = CATALOG.plans
FREE, STARTER, GROWTH, PRO = PLANS["free"], PLANS["starter"], PLANS["growth"], PLANS["pro"]
JKT = "Asia/Jakarta"


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(JKT))


def term(plan: Plan, interval: str = "month", *, status: str = "active", start: datetime | None = None,
         amount: int | None = None, tz: str = JKT) -> CurrentTerm:
    start = start or wib(2026, 11, 10, 10, 0)
    anchor = anchor_day_of(start, tz)
    return CurrentTerm(
        plan=plan,
        interval=interval,
        status=status,
        period_start=start,
        period_end=period_end(start, interval, anchor, tz),
        anchor_day=anchor,
        period_amount=plan.price(interval) if amount is None else amount,
        is_default_plan=plan.code == CATALOG.default_plan,
    )


def test_catalog_shape() -> None:
    assert CATALOG.default_plan == "free" and CATALOG.trial_plan == "starter"
    assert [p.code for p in CATALOG.plans_by_rank()] == ["free", "starter", "growth", "pro"]
    assert FREE.is_free and not GROWTH.is_free
    assert GROWTH.price("month") == 499000 and PRO.price("month") == 999000


@pytest.mark.parametrize(
    ("cur", "target", "interval", "kind"),
    [
        (term(FREE), GROWTH, "month", "purchase"),
        (term(FREE), PRO, "year", "purchase"),
        (term(STARTER, status="trialing", amount=0), STARTER, "month", "purchase"),
        (term(STARTER, status="trialing", amount=0), PRO, "year", "purchase"),
        (term(STARTER, status="trialing", amount=0), FREE, "month", "downgrade"),
        (term(GROWTH), PRO, "month", "upgrade"),
        (term(STARTER), GROWTH, "year", "upgrade"),
        (term(PRO), GROWTH, "month", "downgrade"),
        (term(GROWTH, "month"), GROWTH, "year", "upgrade"),
        (term(GROWTH, "year"), GROWTH, "month", "downgrade"),
        (term(GROWTH, "year"), PRO, "month", "downgrade"),
        (term(GROWTH, "year"), PRO, "year", "upgrade"),
        (term(GROWTH), FREE, "month", "downgrade"),
        (term(PRO, "year"), FREE, "year", "downgrade"),
    ],
)
def test_classify(cur: CurrentTerm, target: Plan, interval: str, kind: str) -> None:
    assert classify(cur, target, interval) == kind


@pytest.mark.parametrize(
    ("cur", "target", "interval"),
    [
        (term(FREE), FREE, "month"),
        (term(FREE), FREE, "year"),
        (term(GROWTH, "month"), GROWTH, "month"),
        (term(PRO, "year"), PRO, "year"),
    ],
)
def test_classify_same_plan_conflict(cur: CurrentTerm, target: Plan, interval: str) -> None:
    with pytest.raises(Conflict) as info:
        classify(cur, target, interval)
    assert info.value.code == "same_plan"
    assert info.value.status == 409
    with pytest.raises(Conflict):
        quote_change(cur, target, interval, cur.period_start + timedelta(days=1), JKT)


def test_purchase_quote_is_full_price() -> None:
    q = quote_change(term(FREE), GROWTH, "year", wib(2026, 11, 20, 15, 0), JKT)
    assert q.kind == "purchase" and q.api_kind == "upgrade"
    assert q.applies_at is None
    assert q.amount_due == 4990000 == q.new_period_amount
    assert len(q.lines) == 1 and "Growth (yearly)" in q.lines[0].description


def test_downgrade_quote_applies_at_period_end() -> None:
    cur = term(PRO)
    q = quote_change(cur, GROWTH, "month", wib(2026, 11, 20, 15, 0), JKT)
    assert q.kind == "downgrade" and q.api_kind == "downgrade"
    assert q.applies_at == cur.period_end
    assert q.lines == [] and q.amount_due == 0


def test_worked_example_growth_to_pro_monthly() -> None:
    cur = term(GROWTH, "month", start=wib(2026, 11, 10, 10, 0), amount=499000)
    assert cur.period_end == wib(2026, 12, 10, 10, 0)
    now = wib(2026, 11, 20, 15, 0)
    q = quote_change(cur, PRO, "month", now, JKT)
    assert q.kind == "upgrade" and q.applies_at is None
    credit, charge = q.lines
    # 30 days in the period; 20 Nov..9 Dec inclusive = 20 days remaining
    assert credit.kind == "proration_credit"
    assert credit.amount == -round_half_up(Fraction(499000 * 20, 30)) == -332667
    assert charge.kind == "proration_charge"
    assert charge.amount == 666000
    assert q.amount_due == 333333
    assert "Unused time on Growth (monthly)" in credit.description
    assert "(20 of 30 days)" in credit.description
    assert "Remaining time on Pro (monthly)" in charge.description
    assert "(20 of 30 days)" in charge.description
    assert (q.period_start, q.period_end) == (cur.period_start, cur.period_end)
    assert q.new_period_amount == 999000
    assert (charge.period_start, charge.period_end) == (now, cur.period_end)


def test_credit_uses_what_was_paid() -> None:
    # Growth bought with a discount: 399000 paid; the credit is on that, not the list price.
    cur = term(GROWTH, "month", start=wib(2026, 11, 10, 10, 0), amount=399000)
    q = quote_change(cur, PRO, "month", wib(2026, 11, 20, 15, 0), JKT)
    assert q.lines[0].amount == -266000
    assert q.amount_due == 666000 - 266000


def test_month_to_year_upgrade_extends_to_twelve_months_from_period_start() -> None:
    cur = term(GROWTH, "month", start=wib(2026, 11, 10, 10, 0))
    q = quote_change(cur, GROWTH, "year", wib(2026, 11, 20, 15, 0), JKT)
    assert q.kind == "upgrade"
    assert q.period_start == cur.period_start
    assert q.period_end == wib(2027, 11, 10, 10, 0)
    credit, charge = q.lines
    assert credit.amount == -332667  # 20 of 30 days of 499000
    assert charge.amount == 4853288  # 355 of 365 days of 4990000, half up
    assert "(355 of 365 days)" in charge.description
    assert "Remaining time on Growth (yearly)" in charge.description
    assert q.amount_due == 4853288 - 332667


def test_month_to_year_upgrade_keeps_the_anchor() -> None:
    # Anchor 31: the current period runs Feb 29 -> Mar 31 2028; a year from Feb 29 clamps to Feb 28 2029.
    start = wib(2028, 2, 29, 10, 0)
    cur = CurrentTerm(plan=STARTER, interval="month", status="active", period_start=start,
                      period_end=period_end(start, "month", 31, JKT), anchor_day=31,
                      period_amount=149000, is_default_plan=False)
    assert cur.period_end == wib(2028, 3, 31, 10, 0)
    q = quote_change(cur, PRO, "year", wib(2028, 3, 10, 8, 0), JKT)
    assert q.kind == "upgrade"
    assert q.period_end == wib(2029, 2, 28, 10, 0)
    assert "(21 of 31 days)" in q.lines[0].description
    assert "(355 of 365 days)" in q.lines[1].description


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

PAID = [STARTER, GROWTH, PRO]
ZONES = [JKT, "UTC", "America/New_York", "Australia/Sydney"]


@settings(max_examples=80, deadline=None)
@given(
    cur_plan=st.sampled_from(PAID),
    cur_interval=st.sampled_from(["month", "year"]),
    target=st.sampled_from(PAID),
    interval=st.sampled_from(["month", "year"]),
    tz=st.sampled_from(ZONES),
    naive_start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31)),
    paid_frac=st.fractions(min_value=0, max_value=1),
    now_frac=st.fractions(min_value=0, max_value=1),
)
def test_upgrade_quote_properties(cur_plan: Plan, cur_interval: str, target: Plan, interval: str, tz: str,
                                  naive_start: datetime, paid_frac: Fraction, now_frac: Fraction) -> None:
    assume(not (cur_plan is target and cur_interval == interval))
    start = naive_start.replace(tzinfo=ZoneInfo(tz))
    price = cur_plan.price(cur_interval)
    paid = round_half_up(price * paid_frac)
    cur = term(cur_plan, cur_interval, start=start, amount=paid, tz=tz)
    assume(classify(cur, target, interval) == "upgrade")
    span = cur.period_end - cur.period_start
    now = cur.period_start + span * float(now_frac)
    assume(now < cur.period_end)

    q = quote_change(cur, target, interval, now, tz)
    credit, charge = q.lines
    assert all(type(x.amount) is int for x in q.lines)
    assert q.amount_due == credit.amount + charge.amount == sum(x.amount for x in q.lines)
    assert credit.amount <= 0 <= charge.amount
    assert -credit.amount <= charge.amount  # the credit never exceeds the new charge
    assert -credit.amount <= paid
    assert charge.amount <= target.price(interval)
    assert q.amount_due >= 0
    assert q.period_start == cur.period_start
    assert q.period_end is not None and q.period_end > now
    if interval == cur_interval:
        assert q.period_end == cur.period_end
    else:  # month -> year: twelve months from the current period start, anchor kept
        assert (cur_interval, interval) == ("month", "year")
        assert q.period_end == add_months_anchored(cur.period_start, 12, cur.anchor_day, tz)
        end_day = local_date(q.period_end, tz)
        assert end_day.day == min(cur.anchor_day, calendar.monthrange(end_day.year, end_day.month)[1])
        start_day = local_date(cur.period_start, tz)
        assert (end_day.year, end_day.month) == (start_day.year + 1, start_day.month)


# ---------------------------------------------------------------------------------------------
# What a billing person checks on each kind of change
# ---------------------------------------------------------------------------------------------

NOW = wib(2026, 11, 20, 15, 0)


@pytest.mark.parametrize(("cur", "target", "interval"), [
    (term(PRO, "month"), GROWTH, "year"),  # cheaper plan, longer interval: still a downgrade
    (term(PRO, "month"), STARTER, "year"),
    (term(PRO, "year"), GROWTH, "year"),
    (term(GROWTH, "year"), STARTER, "year"),
])
def test_a_lower_plan_is_a_downgrade_at_period_end_whatever_the_interval(cur: CurrentTerm, target: Plan,
                                                                         interval: str) -> None:
    # e.g. Pro monthly to Growth yearly is a downgrade scheduled at period end, not an immediate upgrade
    assert classify(cur, target, interval) == "downgrade"
    q = quote_change(cur, target, interval, NOW, JKT)
    assert (q.kind, q.plan, q.interval, q.applies_at) == ("downgrade", target, interval, cur.period_end)
    assert q.lines == [] and q.amount_due == 0


def test_the_same_plan_is_refused_naming_it() -> None:
    with pytest.raises(Conflict) as err:
        classify(term(FREE), FREE, "month")
    assert (err.value.code, err.value.param, err.value.message) == ("same_plan", "plan",
                                                                    "The account is already on Free.")
    with pytest.raises(Conflict) as err:
        classify(term(GROWTH, "year"), GROWTH, "year")
    assert (err.value.code, err.value.param, err.value.message) == (
        "same_plan", "plan", "The subscription is already on Growth (yearly).")


def test_a_purchase_is_one_plan_line_at_full_price() -> None:
    q = quote_change(term(FREE), GROWTH, "month", NOW, JKT)
    assert (q.kind, q.plan, q.interval) == ("purchase", GROWTH, "month")
    assert q.lines == [Line("plan", "Growth (monthly) subscription", 1, 499000, 499000)]
    assert q.new_period_amount == 499000


def test_a_purchase_gets_the_accounts_promotion_when_the_plan_is_eligible() -> None:
    launch = Terms("LAUNCH", 20, None, "IDR", ("growth",), wib(2027, 3, 31))
    q = quote_change(term(FREE), GROWTH, "month", NOW, JKT, launch)
    assert q.lines == [Line("plan", "Growth (monthly) subscription", 1, 499000, 499000),
                       Line("discount", "Promotion LAUNCH (20% off)", 1, -99800, -99800)]
    assert q.amount_due == q.new_period_amount == 399200  # what is paid is what the unused time credits later
    assert quote_change(term(FREE), PRO, "month", NOW, JKT, launch).amount_due == 999000  # not eligible
    ended = Terms("LAUNCH", 20, None, "IDR", ("growth",), NOW)
    assert quote_change(term(FREE), GROWTH, "month", NOW, JKT, ended).amount_due == 499000  # ended: full price


def test_an_upgrade_credits_the_unused_time_and_charges_the_remaining_time() -> None:
    cur = term(GROWTH, "month", start=wib(2026, 11, 10, 10, 0))
    q = quote_change(cur, PRO, "month", NOW, JKT)
    assert (q.kind, q.plan, q.interval, q.applies_at) == ("upgrade", PRO, "month", None)
    assert q.lines == [
        Line("proration_credit", "Unused time on Growth (monthly) (20 of 30 days)", 1, -332667, -332667,
             NOW, cur.period_end),
        Line("proration_charge", "Remaining time on Pro (monthly) (20 of 30 days)", 1, 666000, 666000,
             NOW, cur.period_end),
    ]


def test_a_month_to_year_upgrade_keeps_the_anchors_time_of_day() -> None:
    # New York, anchored at 02:30 on the 8th; the period that began on 2026-03-08 began at 03:30 (02:30 did
    # not exist that day). Its yearly end is 2027-03-08 at 02:30, the anchor's time, not at 03:30.
    ny = "America/New_York"
    start = datetime(2026, 3, 8, 7, 30, tzinfo=ZoneInfo("UTC"))  # 03:30 EDT
    anchor_time = time(2, 30)
    cur = CurrentTerm(plan=GROWTH, interval="month", status="active", period_start=start,
                      period_end=period_end(start, "month", 8, ny, anchor_time), anchor_day=8,
                      period_amount=499000, is_default_plan=False, anchor_time=anchor_time)
    assert cur.period_end.astimezone(ZoneInfo(ny)).replace(tzinfo=None) == datetime(2026, 4, 8, 2, 30)
    q = quote_change(cur, GROWTH, "year", datetime(2026, 3, 20, 12, 0, tzinfo=ZoneInfo(ny)), ny)
    assert q.period_end is not None
    assert q.period_end.astimezone(ZoneInfo(ny)).replace(tzinfo=None) == datetime(2027, 3, 8, 2, 30)


def test_billing_information_is_needed_before_a_paid_purchase() -> None:
    billing = dict(company_name="PT Toko Maju", contact_name="Siti", billing_email="finance@tokomaju.id",
                   phone="+62 21 5550101", address="Jl. Gatot Subroto 10", city="Jakarta", postal_code="12930",
                   country="ID")
    require_billing_info(Account(**billing))
    for missing in billing:
        with pytest.raises(Conflict) as err:
            require_billing_info(Account(**{**billing, missing: None}))
        assert (err.value.status, err.value.code, err.value.param) == (409, "billing_info_required", None)
        assert_sentence(err.value.message)


def test_a_downgrade_is_refused_by_each_limit_the_usage_exceeds() -> None:
    growth = {"users": 5, "contacts": 10000, "broadcasts_per_month": 1000}
    assert exceeded_limits(growth, {"users": 5, "contacts": 10000}) == []  # at the limit fits
    assert exceeded_limits(growth, {"users": 6, "contacts": 10000}) == ["users"]
    assert exceeded_limits(growth, {"contacts": 10001, "users": 9}) == ["users", "contacts"]  # in the catalog's order
    assert exceeded_limits({"users": 5}, {"users": 1, "contacts": 1}) == ["contacts"]  # no limit set: none allowed
    assert exceeded_limits({"users": 5}, {"contacts": 0}) == []
