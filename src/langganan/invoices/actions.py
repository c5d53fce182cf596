"""What paying an invoice does, as typed values: one class per kind of action.

An invoice keeps its action in its `action` JSON column exactly as it was always stored (the same keys,
amounts as integers, instants as ISO 8601 text): `to_json` writes that object and `action_from_json`
reads it back, at the column (`ActionJSON`), so code reads fields, never dictionary keys. Existing
databases keep working and an issued invoice's seal (its content digest) is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy.types import JSON, TypeDecorator

from langganan.catalog.rules import WalletKind


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class PlanOrigin:
    """The subscription an upgrade or a purchase was priced against, as it was at issue."""

    plan: str
    interval: str
    status: str  # the subscription's status then (subscriptions.models.SubscriptionStatus)
    period_start: datetime

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "interval": self.interval, "status": str(self.status),
                "period_start": self.period_start.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanOrigin:
        return cls(plan=data["plan"], interval=data["interval"], status=data["status"],
                   period_start=_instant(data["period_start"]))


@dataclass(frozen=True)
class PurchaseAction:
    """A paid plan bought from Free or a trial: its period starts when the invoice is paid."""

    kind: ClassVar[Literal["purchase"]] = "purchase"
    plan: str
    interval: str
    catalog_version_id: int
    period_amount: int  # what the plan's period costs after discount (rule 2's "unused time" later)
    origin: PlanOrigin

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "plan": self.plan, "interval": self.interval,
                "catalog_version_id": self.catalog_version_id, "period_amount": self.period_amount,
                "from": self.origin.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PurchaseAction:
        return cls(plan=data["plan"], interval=data["interval"], catalog_version_id=int(data["catalog_version_id"]),
                   period_amount=int(data["period_amount"]), origin=PlanOrigin.from_json(data["from"]))


@dataclass(frozen=True)
class UpgradeAction:
    """A higher plan for the rest of the current period (prorated), up to `period_end`."""

    kind: ClassVar[Literal["upgrade"]] = "upgrade"
    plan: str
    interval: str
    catalog_version_id: int
    period_amount: int
    origin: PlanOrigin
    period_end: datetime

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "plan": self.plan, "interval": self.interval,
                "catalog_version_id": self.catalog_version_id, "period_amount": self.period_amount,
                "from": self.origin.to_json(), "period_end": self.period_end.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpgradeAction:
        return cls(plan=data["plan"], interval=data["interval"], catalog_version_id=int(data["catalog_version_id"]),
                   period_amount=int(data["period_amount"]), origin=PlanOrigin.from_json(data["from"]),
                   period_end=_instant(data["period_end"]))


@dataclass(frozen=True)
class RenewalAction:
    """The period [period_start, period_end) on `plan`, which starts at the old period end (rule 4)."""

    kind: ClassVar[Literal["renewal"]] = "renewal"
    plan: str
    interval: str
    catalog_version_id: int
    period_amount: int
    period_start: datetime
    period_end: datetime

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "plan": self.plan, "interval": self.interval,
                "catalog_version_id": self.catalog_version_id, "period_amount": self.period_amount,
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RenewalAction:
        return cls(plan=data["plan"], interval=data["interval"], catalog_version_id=int(data["catalog_version_id"]),
                   period_amount=int(data["period_amount"]), period_start=_instant(data["period_start"]),
                   period_end=_instant(data["period_end"]))


@dataclass(frozen=True)
class AddOnAction:
    """`quantity` units of an add-on for the rest of the period that started at `period_start`."""

    kind: ClassVar[Literal["add_on"]] = "add_on"
    add_on: str
    quantity: int
    unit_price: int
    period_start: datetime

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "add_on": self.add_on, "quantity": self.quantity, "unit_price": self.unit_price,
                "period_start": self.period_start.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AddOnAction:
        return cls(add_on=data["add_on"], quantity=int(data["quantity"]), unit_price=int(data["unit_price"]),
                   period_start=_instant(data["period_start"]))


@dataclass(frozen=True)
class TopUpAction:
    """Paid credit for a wallet."""

    kind: ClassVar[Literal["top_up"]] = "top_up"
    wallet: WalletKind
    amount: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "wallet": str(self.wallet), "amount": self.amount}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopUpAction:
        return cls(wallet=WalletKind(data["wallet"]), amount=int(data["amount"]))


@dataclass(frozen=True)
class LegacyWaiverAction:
    """A legacy postpaid subscriber's last month, waived for the move to prepaid: paying does nothing."""

    kind: ClassVar[Literal["legacy_waiver"]] = "legacy_waiver"
    account_key: str
    month: str  # the last unpaid postpaid month, as imported (YYYY-MM)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "account_key": self.account_key, "month": self.month}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LegacyWaiverAction:
        return cls(account_key=data["account_key"], month=data["month"])


InvoiceAction = PurchaseAction | UpgradeAction | RenewalAction | AddOnAction | TopUpAction | LegacyWaiverAction
PlanAction = PurchaseAction | UpgradeAction | RenewalAction  # what a subscription or plan-change invoice does

_KINDS: dict[str, type[InvoiceAction]] = {cls.kind: cls for cls in (
    PurchaseAction, UpgradeAction, RenewalAction, AddOnAction, TopUpAction, LegacyWaiverAction)}


def action_from_json(data: dict[str, Any]) -> InvoiceAction:
    """The action an invoice's stored JSON describes; a ValueError for a kind there is none of."""
    cls = _KINDS.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"unknown invoice action {data.get('kind')!r}")
    return cls.from_json(data)


class ActionJSON(TypeDecorator[InvoiceAction]):
    """The `invoices.action` column: JSON in the database, an `InvoiceAction` in Python."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: InvoiceAction | None, dialect: Any) -> dict[str, Any] | None:
        return None if value is None else value.to_json()

    def process_result_value(self, value: dict[str, Any] | None, dialect: Any) -> InvoiceAction | None:
        return None if value is None else action_from_json(value)
