from __future__ import annotations

from pydantic import BaseModel

from langganan.catalog.rules import AddOn, Catalog, Meter, Plan


class Price(BaseModel):
    interval: str
    currency: str
    amount: int


class Limits(BaseModel):
    users: int
    contacts: int
    broadcasts_per_month: int


class PlanOut(BaseModel):
    code: str
    name: str
    rank: int
    prices: list[Price]
    trial_days: int
    features: dict[str, bool]
    limits: Limits
    included_credit: dict[str, int]
    catalog_version: int


class AddOnOut(BaseModel):
    code: str
    name: str
    prices: list[Price]
    grants: dict[str, int]


class MeterOut(BaseModel):
    code: str
    name: str
    wallet: str
    unit_price: int
    currency: str


class PlanList(BaseModel):
    data: list[PlanOut]
    has_more: bool = False


class AddOnList(BaseModel):
    data: list[AddOnOut]
    has_more: bool = False


class MeterList(BaseModel):
    data: list[MeterOut]
    has_more: bool = False


def _prices(prices: dict[str, int], currency: str) -> list[Price]:
    return [Price(interval=iv, currency=currency, amount=amount) for iv, amount in prices.items()]


def plan_out(p: Plan, c: Catalog) -> PlanOut:
    return PlanOut(code=p.code, name=p.name, rank=p.rank, prices=_prices(p.prices, c.currency),
                   trial_days=p.trial_days, features=p.features, limits=Limits(**p.limits),
                   included_credit=p.included_credit, catalog_version=c.version)


def add_on_out(a: AddOn, c: Catalog) -> AddOnOut:
    return AddOnOut(code=a.code, name=a.name, prices=_prices(a.prices, c.currency), grants=a.grants)


def meter_out(m: Meter, c: Catalog) -> MeterOut:
    return MeterOut(code=m.code, name=m.name, wallet=m.wallet, unit_price=m.unit_price, currency=c.currency)
