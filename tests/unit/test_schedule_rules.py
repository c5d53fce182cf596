"""The lifecycle agenda and promotion discounts as pure functions (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from langganan.config import Settings
from langganan.promotions.rules import Terms, discount, redemption_end
from langganan.subscriptions.schedule import Policy, Timeline, agenda, due_by, next_due

END = datetime(2026, 2, 15, 3, tzinfo=UTC)
P = Policy.from_settings(Settings())  # 7 days ahead, reminders 3 and 1, grace 3, retries 1, 3, 5
ACTIVE = Timeline(status="active", paid=True, period_end=END, allotment_end=END, trial_end=None, auto_renew=False,
                  ends_at_period_end=False, renewal_invoiced_for=None, renewal_attempts=0, charging=False,
                  promotion_ends_at=None, cursor=END - timedelta(days=31))


def kinds(t: Timeline) -> list[tuple[int, str]]:
    return [((d.at - END).days, d.kind) for d in agenda(t, P)]


def test_bank_transfer_renewal_invoice_reminders_then_period_end() -> None:
    assert kinds(ACTIVE) == [(-7, "renewal_invoice"), (-3, "renewal_reminder"), (-1, "renewal_reminder"),
                             (0, "period_end")]
    issued = replace(ACTIVE, renewal_invoiced_for=END, cursor=END - timedelta(days=3))
    assert kinds(issued) == [(-1, "renewal_reminder"), (0, "period_end")]  # notices up to the cursor are done
    assert kinds(replace(ACTIVE, status="past_due")) == [(3, "grace_end")]


def test_card_charges_at_period_end_then_retries_and_waits_while_charging() -> None:
    card = replace(ACTIVE, auto_renew=True)
    assert kinds(card) == [(0, "period_end")]
    assert kinds(replace(card, charging=True)) == []
    retries = [kinds(replace(card, status="past_due", renewal_attempts=n)) for n in (1, 2, 3)]
    assert retries == [[(1, "card_retry")], [(3, "card_retry")], [(5, "card_retry")]]


def test_nothing_to_renew_when_free_cancelled_or_trialing() -> None:
    assert kinds(replace(ACTIVE, paid=False)) == [(0, "period_end")]
    assert kinds(replace(ACTIVE, ends_at_period_end=True)) == [(0, "period_end")]
    trial = replace(ACTIVE, status="trialing", trial_end=END)
    assert kinds(trial) == [(-7, "trial_will_end"), (0, "period_end")]


def test_promotion_notices_and_next_due() -> None:
    promo = replace(ACTIVE, renewal_invoiced_for=END, promotion_ends_at=END - timedelta(days=2), cursor=END)
    assert kinds(promo) == [(-2, "promotion_ended"), (0, "period_end")]  # the ending notice went out already
    assert next_due(promo, P) == END - timedelta(days=2)
    assert due_by(promo, P, END - timedelta(days=3)) == []


@given(st.integers(0, 10**9), st.integers(1, 100), st.integers(0, 10**9))
def test_a_discount_is_never_negative_nor_above_the_price(price: int, percent: int, amount: int) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for terms in (Terms("X", percent, None, "IDR", ("growth",), start + timedelta(days=1)),
                  Terms("X", None, amount, "IDR", ("growth",), start + timedelta(days=1))):
        off = discount(terms, "growth", price, start)
        assert 0 <= off <= price
        assert discount(terms, "pro", price, start) == 0  # not an eligible plan
        assert discount(terms, "growth", price, terms.ends_at) == 0  # a period starting at the end does not


def test_percent_rounds_half_up_and_duration_keeps_the_local_day() -> None:
    terms = Terms("X", 15, None, "IDR", ("growth",), datetime(2027, 1, 1, tzinfo=UTC))
    assert discount(terms, "growth", 99_999, datetime(2026, 1, 1, tzinfo=UTC)) == 15_000  # 14999.85
    jan31 = datetime(2026, 1, 31, 2, tzinfo=UTC)  # 09:00 in Jakarta
    assert redemption_end(None, 1, jan31, "Asia/Jakarta") == datetime(2026, 2, 28, 2, tzinfo=UTC)


def test_the_policy_is_read_from_the_settings() -> None:
    s = Settings(renewal_invoice_days=10, renewal_reminder_days=(2, 5), grace_days=4, card_retry_days=(1, 2),
                 trial_notice_days=3, promotion_notice_days=6)
    assert Policy.from_settings(s) == Policy(renewal_invoice_days=10, renewal_reminder_days=(2, 5), grace_days=4,
                                             card_retry_days=(1, 2), trial_notice_days=3, promotion_notice_days=6)
    assert Policy.from_settings(s).card_attempts == 3  # the charge at period end and two retries


def test_a_yearly_plan_gets_its_monthly_allotment_on_the_anchor_day() -> None:
    yearly = replace(ACTIVE, period_end=END + timedelta(days=334), allotment_end=END, renewal_invoiced_for=None,
                     cursor=END)
    assert next((d.at, d.kind) for d in agenda(yearly, P)) == (END, "allotment")
    assert "allotment" not in [d.kind for d in agenda(replace(yearly, allotment_end=yearly.period_end), P)]
    assert "allotment" not in [d.kind for d in agenda(replace(yearly, status="past_due"), P)]  # not while unpaid


def test_items_due_at_the_same_instant_run_in_the_agenda_order() -> None:
    # a promotion that ends with the period: the price returns to normal before the period rolls
    promo = replace(ACTIVE, renewal_invoiced_for=END, promotion_ends_at=END, cursor=END)
    assert kinds(promo) == [(0, "promotion_ended"), (0, "period_end")]


def test_card_retries_then_the_grace_end() -> None:
    card = replace(ACTIVE, auto_renew=True, status="past_due")
    assert kinds(replace(card, renewal_attempts=P.card_attempts)) == [(3, "grace_end")]  # the last retry declined
    # a card switched on while the bank-transfer renewal was overdue is charged at once
    assert kinds(replace(card, renewal_attempts=0)) == [(0, "card_retry")]


def test_work_due_exactly_now_is_due() -> None:
    assert [d.kind for d in due_by(ACTIVE, P, END)] == ["renewal_invoice", "renewal_reminder", "renewal_reminder",
                                                        "period_end"]
    assert [d.kind for d in due_by(ACTIVE, P, END - timedelta(days=7))] == ["renewal_invoice"]
    assert due_by(ACTIVE, P, END - timedelta(days=7, microseconds=1)) == []


def test_nothing_is_due_while_a_charge_is_in_flight() -> None:
    assert next_due(replace(ACTIVE, charging=True), P) is None
    assert next_due(ACTIVE, P) == END - timedelta(days=7)


def test_what_a_past_due_customer_is_told_matches_the_agenda() -> None:
    from langganan.subscriptions.schedule import PastDue, past_due

    assert past_due(ACTIVE, P) is None
    bank = replace(ACTIVE, status="past_due")
    assert past_due(bank, P) == PastDue(next_retry=None, drops_at=END + timedelta(days=3))  # the grace period
    card = replace(ACTIVE, status="past_due", auto_renew=True)
    told = [past_due(replace(card, renewal_attempts=n), P) for n in (1, 2, 3)]
    assert [t.next_retry for t in told if t] == [END + timedelta(days=d) for d in (1, 3, 5)]
    assert {t.drops_at for t in told if t} == {END + timedelta(days=5)}  # the last retry's decline moves to Free
    for n in (1, 2, 3):
        t = replace(card, renewal_attempts=n)
        said = past_due(t, P)
        assert said is not None and said.next_retry == agenda(t, P)[0].at  # the retry the due runner will make
