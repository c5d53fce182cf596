"""Instruments counted where things happen: a gateway call by gateway, operation and outcome, timed
(payments.gateway.measured), the outcomes an operator alerts on (unavailable, refused) told apart from a customer's
decline or input; usage results by outcome and reason."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from langganan import metrics
from langganan.kit.errors import Unprocessable
from langganan.payments.gateway import ChargeResult, GatewayRefused, GatewayUnavailable, RefundResult, measured


class Scripted:
    """A gateway whose calls answer what a test says (a test double of the gateway's far side)."""

    name = "scripted"

    def __init__(self) -> None:
        self.next: object = None

    def _answer(self) -> object:
        if isinstance(self.next, BaseException):
            raise self.next
        return self.next

    @measured("charge")
    def charge(self) -> object:
        return self._answer()

    @measured("status")
    def status(self, reference: str) -> object:
        return self._answer()


@pytest.fixture
def read() -> CollectorRegistry:
    found = CollectorRegistry()
    found.register(metrics.gateway_calls)
    found.register(metrics.gateway_duration)
    return found


def _count(read: CollectorRegistry, operation: str, outcome: str) -> float:
    return read.get_sample_value("langganan_gateway_calls_total",
                                 {"gateway": "scripted", "operation": operation, "outcome": outcome}) or 0.0


@pytest.mark.parametrize(("answer", "operation", "outcome"), [
    (ChargeResult(True, "ch_1"), "charge", "succeeded"),
    (ChargeResult(False, "ch_2", "card_declined", "Declined"), "charge", "declined"),
    (ChargeResult(False, "ch_3", pending=True), "charge", "pending"),
    (RefundResult(True, "rf_1"), "charge", "succeeded"),
    (None, "status", "ok"),
    (GatewayUnavailable(), "status", "unavailable"),
    (GatewayRefused("gateway_refused", "Refused."), "charge", "refused"),
    (Unprocessable("invalid_bank", "No such bank."), "charge", "rejected"),
    (KeyError("bug"), "status", "error"),
])
def test_each_call_is_counted_by_its_outcome_and_timed(read: CollectorRegistry, answer: object, operation: str,
                                                      outcome: str) -> None:
    gateway = Scripted()
    gateway.next = answer
    before = _count(read, operation, outcome)
    timed = read.get_sample_value("langganan_gateway_call_duration_seconds_count",
                                  {"gateway": "scripted", "operation": operation}) or 0.0
    call = gateway.charge if operation == "charge" else lambda: gateway.status("pay_1")
    if isinstance(answer, BaseException):
        with pytest.raises(type(answer)):
            call()
    else:
        assert call() is answer
    assert _count(read, operation, outcome) == before + 1
    assert read.get_sample_value("langganan_gateway_call_duration_seconds_count",
                                 {"gateway": "scripted", "operation": operation}) == timed + 1


def test_usage_results_are_tallied_by_outcome_and_only_rejections_carry_a_reason() -> None:
    from langganan.usage.service import UsageResult

    found = CollectorRegistry()
    found.register(metrics.usage_events)

    def value(outcome: str, reason: str) -> float:
        return found.get_sample_value("langganan_usage_events_total", {"outcome": outcome, "reason": reason}) or 0.0

    before = {key: value(*key) for key in (("accepted", ""), ("duplicate", ""), ("rejected", "quota_exceeded"))}
    metrics.usage_results([UsageResult("a", "accepted", amount=30), UsageResult("b", "accepted", amount=30),
                           UsageResult("a", "duplicate", amount=30),
                           UsageResult("c", "rejected", code="quota_exceeded", message="Used up.")])
    assert {key: value(*key) - n for key, n in before.items()} == {
        ("accepted", ""): 2, ("duplicate", ""): 1, ("rejected", "quota_exceeded"): 1}
