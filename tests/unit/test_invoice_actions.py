"""Invoice actions are typed values; the JSON an invoice stores is byte for byte what it always was, so
existing databases read back and an issued invoice's seal still matches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from langganan.catalog.rules import WalletKind
from langganan.invoices.actions import (
    ActionJSON,
    AddOnAction,
    LegacyWaiverAction,
    PlanOrigin,
    PurchaseAction,
    RenewalAction,
    TopUpAction,
    UpgradeAction,
    action_from_json,
)

# What the engine wrote before actions were typed, key order included.
STORED: list[dict[str, Any]] = [
    {"kind": "purchase", "plan": "growth", "interval": "month", "catalog_version_id": 1, "period_amount": 499000,
     "from": {"plan": "free", "interval": "month", "status": "trialing",
              "period_start": "2026-01-15T03:00:00+00:00"}},
    {"kind": "upgrade", "plan": "pro", "interval": "year", "catalog_version_id": 2, "period_amount": 9990000,
     "from": {"plan": "growth", "interval": "month", "status": "active",
              "period_start": "2026-01-15T03:00:00+00:00"},
     "period_end": "2026-02-15T03:00:00+00:00"},
    {"kind": "renewal", "plan": "growth", "interval": "month", "catalog_version_id": 1, "period_amount": 399200,
     "period_start": "2026-02-15T03:00:00+00:00", "period_end": "2026-03-15T03:00:00.250000+00:00"},
    {"kind": "add_on", "add_on": "extra_users", "quantity": 3, "unit_price": 50000,
     "period_start": "2026-01-15T03:00:00+00:00"},
    {"kind": "top_up", "wallet": "broadcast", "amount": 100000},
    {"kind": "legacy_waiver", "account_key": "LEG-1", "month": "2026-01"},
]


@pytest.mark.parametrize("stored", STORED, ids=[s["kind"] for s in STORED])
def test_the_stored_json_reads_back_and_writes_the_same_text(stored: dict[str, Any]) -> None:
    action = action_from_json(stored)
    assert action.kind == stored["kind"]
    assert json.dumps(action.to_json()) == json.dumps(stored)
    assert action_from_json(action.to_json()) == action


def test_fields_are_typed() -> None:
    renewal = action_from_json(STORED[2])
    assert isinstance(renewal, RenewalAction)
    assert renewal.period_amount == 399200
    assert renewal.period_start == datetime(2026, 2, 15, 3, tzinfo=UTC)
    top_up = action_from_json(STORED[4])
    assert top_up == TopUpAction(wallet=WalletKind.BROADCAST, amount=100000)
    upgrade = action_from_json(STORED[1])
    assert isinstance(upgrade, UpgradeAction)
    assert upgrade.origin == PlanOrigin("growth", "month", "active", datetime(2026, 1, 15, 3, tzinfo=UTC))


def test_amounts_stored_as_text_read_as_integers() -> None:
    """The readers used to take int(action[...]); a stored number in any JSON form still reads as an int."""
    action = action_from_json({**STORED[3], "quantity": "3", "unit_price": 50000.0})
    assert action == AddOnAction("extra_users", 3, 50000, datetime(2026, 1, 15, 3, tzinfo=UTC))
    assert type(action.unit_price) is int


@pytest.mark.parametrize("data", [{}, {"kind": "refund"}, {"kind": None}])
def test_an_unknown_kind_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown invoice action"):
        action_from_json(data)


def test_the_column_converts_at_its_boundary() -> None:
    column = ActionJSON()
    waiver = LegacyWaiverAction(account_key="LEG-1", month="2026-01")
    assert column.process_bind_param(waiver, None) == STORED[5]
    assert column.process_result_value(STORED[5], None) == waiver
    assert column.process_bind_param(None, None) is None
    purchase = column.process_result_value(STORED[0], None)
    assert isinstance(purchase, PurchaseAction)
