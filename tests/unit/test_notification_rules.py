"""Pure rules of delivery backoff, webhook subscriptions and usage alerts (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from langganan.notifications.messages import html_paragraphs
from langganan.notifications.rules import (
    backoff,
    dedupe_key,
    email_kind,
    next_attempt_at,
    quota_alerts,
    quota_crossings,
    recipients,
    subscribes,
    wallet_alerts,
)

NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff(n, 30, 3600).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_next_attempt_until_the_attempts_are_used_up() -> None:
    assert next_attempt_at(1, 3, NOW, 30, 3600) == NOW + timedelta(seconds=30)
    assert next_attempt_at(2, 3, NOW, 30, 3600) == NOW + timedelta(seconds=60)
    assert next_attempt_at(3, 3, NOW, 30, 3600) is None


def test_an_endpoint_receives_what_it_names_or_everything_with_a_star() -> None:
    assert subscribes(["invoice.paid"], "invoice.paid")
    assert not subscribes(["invoice.paid"], "invoice.created")
    assert subscribes(["*"], "anything.at_all")


def test_low_balance_fires_once_going_down_and_rearms_above_the_threshold() -> None:
    first = wallet_alerts(6000, 4000, 5000, low_alerted=False, depleted_alerted=False)
    assert first.fire == ("wallet.low_balance",) and first.low_alerted
    again = wallet_alerts(4000, 3000, 5000, low_alerted=True, depleted_alerted=False)
    assert again.fire == () and again.low_alerted
    topped_up = wallet_alerts(3000, 33000, 5000, low_alerted=True, depleted_alerted=False)
    assert topped_up.fire == () and not topped_up.low_alerted
    assert wallet_alerts(33000, 100, 5000, low_alerted=False, depleted_alerted=False).fire == ("wallet.low_balance",)


def test_a_credit_that_stays_below_the_threshold_does_not_alert() -> None:
    assert wallet_alerts(0, 3000, 5000, low_alerted=False, depleted_alerted=False).fire == ()


def test_depleted_fires_at_zero_and_covers_low_balance() -> None:
    straight = wallet_alerts(20000, 0, 5000, low_alerted=False, depleted_alerted=False)
    assert straight.fire == ("wallet.depleted",) and straight.low_alerted and straight.depleted_alerted
    after_low = wallet_alerts(3000, 0, 5000, low_alerted=True, depleted_alerted=False)
    assert after_low.fire == ("wallet.depleted",)
    refilled = wallet_alerts(0, 650, 5000, low_alerted=True, depleted_alerted=True)
    assert refilled.fire == () and refilled.low_alerted and not refilled.depleted_alerted


def test_a_zero_threshold_turns_low_balance_off_but_not_depleted() -> None:
    assert wallet_alerts(6000, 10, 0, low_alerted=False, depleted_alerted=False).fire == ()
    assert wallet_alerts(10, 0, 0, low_alerted=False, depleted_alerted=False).fire == ("wallet.depleted",)


@given(st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=60),
       st.integers(min_value=0, max_value=10_000))
def test_low_balance_fires_exactly_once_per_dip_below_the_threshold(balances: list[int], threshold: int) -> None:
    low = depleted = False
    fired: list[str] = []
    previous = 50_000
    dips = 0
    above = True  # the walk starts above every threshold
    for balance in balances:
        decision = wallet_alerts(previous, balance, threshold, low_alerted=low, depleted_alerted=depleted)
        fired.extend(decision.fire)
        low, depleted = decision.low_alerted, decision.depleted_alerted
        if above and balance <= threshold and balance < previous:
            dips += 1
        above = above if balance == previous else balance > threshold
        previous = balance
    # every dip into the zone is announced once, by low balance or by depleted
    assert len(fired) >= dips
    assert fired.count("wallet.low_balance") <= dips


def test_quota_levels_crossed_up_and_down() -> None:
    assert quota_crossings(7, 8, 10) == ((80,), ())
    assert quota_crossings(8, 9, 10) == ((), ())
    assert quota_crossings(9, 10, 10) == ((100,), ())
    assert quota_crossings(10, 7, 10) == ((), (80, 100))
    assert quota_crossings(0, 5, 0) == ((), ())  # no quota, no alerts


def test_quota_alert_fires_once_per_period_and_rearms_when_use_drops() -> None:
    first = quota_alerts(790, 800, 1000, alerted=[])
    assert (first.fire, first.mark, first.rearm) == ((80,), (80,), ())
    assert quota_alerts(790, 800, 1000, alerted=[80]).fire == ()
    dropped = quota_alerts(850, 700, 1000, alerted=[80])
    assert dropped.rearm == (80,) and dropped.fire == ()


def test_jumping_past_both_levels_announces_only_the_highest() -> None:
    jump = quota_alerts(0, 1, 1, alerted=[])
    assert jump.fire == (100,) and jump.mark == (80, 100)


# --- emails ---------------------------------------------------------------------------------------

def test_the_billing_contact_gets_the_email_and_the_owner_a_copy_never_one_address_twice() -> None:
    assert recipients("owner@toko.id", "finance@toko.id", copy_owner=True) == ("finance@toko.id", "owner@toko.id")
    assert recipients("owner@toko.id", "finance@toko.id", copy_owner=False) == ("finance@toko.id", None)
    assert recipients("owner@toko.id", None, copy_owner=True) == ("owner@toko.id", None)  # no billing contact
    assert recipients("owner@toko.id", " ", copy_owner=True) == ("owner@toko.id", None)
    assert recipients("Owner@Toko.id", "owner@toko.id", copy_owner=True) == ("owner@toko.id", None)
    assert recipients(None, None, copy_owner=True) == (None, None)


def test_invoices_receipts_and_dunning_copy_the_owner_and_carry_what_they_should() -> None:
    for kind in ("invoice.created", "invoice.paid", "payment.failed", "subscription.renewal_reminder",
                 "subscription.past_due", "subscription.downgraded", "invoice.expired", "credit_note.issued"):
        assert email_kind(kind).copy_owner, kind
    for kind in ("wallet.low_balance", "quota.threshold_reached", "trial.will_end", "account.migrated"):
        assert not email_kind(kind).copy_owner and email_kind(kind).link is None, kind
    assert email_kind("invoice.created").attach_invoice and email_kind("invoice.paid").attach_invoice
    assert not email_kind("subscription.renewal_reminder").attach_invoice
    assert email_kind("subscription.renewal_reminder").link == "invoice"
    assert email_kind("subscription.downgraded").link == "portal"


def test_the_same_reminder_has_the_same_key_and_other_events_none() -> None:
    data = {"invoice_id": "inv_1", "days_left": 3, "subscription_id": "sub_1"}
    key = dedupe_key("subscription.renewal_reminder", data)
    assert key == "subscription.renewal_reminder:inv_1:3"
    assert dedupe_key("subscription.renewal_reminder", {**data, "days_left": 1}) != key
    assert dedupe_key("subscription.renewal_reminder", {"days_left": 3}) is None  # nothing to tell it by
    assert dedupe_key("invoice.created", {"invoice_id": "inv_1"}) is None
    moved = {"subscription_id": "sub_1", "reason": "unpaid", "previous": {"current_period_end": "2026-02-15"}}
    assert dedupe_key("subscription.downgraded", moved) == "subscription.downgraded:sub_1:2026-02-15"
    assert dedupe_key("subscription.downgraded", {**moved, "reason": "scheduled"}) is None
    assert len(dedupe_key("trial.will_end", {"subscription_id": "s" * 300, "trial_end": "x"}) or "") == 200


def test_html_paragraphs_keep_the_templates_blocks_and_wrap_the_text() -> None:
    body = "First line &lt;b&gt;\nsecond line\n\n<table><tr><td>x</td></tr></table>\nAfter"
    assert str(html_paragraphs(body)) == (
        '<p style="margin:0 0 16px 0;">First line &lt;b&gt;<br>\nsecond line</p>\n'
        "<table><tr><td>x</td></tr></table>\n"
        '<p style="margin:0 0 16px 0;">After</p>')
