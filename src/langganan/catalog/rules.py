"""The catalog as plain values, parsed and validated from the TOML file's content."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

INTERVALS = ("month", "year")
LIMIT_NAMES = ("users", "contacts", "broadcasts_per_month")


class WalletKind(StrEnum):
    """The wallets every account has: the catalog grants credit to them and its meters debit them."""

    CONVERSATION = "conversation"
    BROADCAST = "broadcast"


WALLETS = tuple(WalletKind)
BROADCAST_METER = "broadcast_message"  # the meter whose use counts against the plan's monthly broadcast quota


class CatalogInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    rank: int
    prices: dict[str, int]
    features: dict[str, bool]
    limits: dict[str, int]
    included_credit: dict[str, int]
    trial_days: int = 0

    @property
    def is_free(self) -> bool:
        return all(v == 0 for v in self.prices.values())

    def price(self, interval: str) -> int:
        return self.prices[interval]


@dataclass(frozen=True)
class AddOn:
    code: str
    name: str
    prices: dict[str, int]
    grants: dict[str, int]


@dataclass(frozen=True)
class Meter:
    code: str
    name: str
    wallet: str
    unit_price: int


@dataclass(frozen=True)
class Catalog:
    id: int
    version: int
    currency: str
    trial_plan: str
    default_plan: str
    plans: dict[str, Plan] = field(default_factory=dict)
    add_ons: dict[str, AddOn] = field(default_factory=dict)
    meters: dict[str, Meter] = field(default_factory=dict)

    def plans_by_rank(self) -> list[Plan]:
        return sorted(self.plans.values(), key=lambda p: p.rank)


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CatalogInvalid(f"{where} must be a non-negative integer, got {value!r}")
    return value


def parse_catalog(content: dict[str, Any], *, catalog_id: int = 0) -> Catalog:
    try:
        version = _int(content["version"], "version")
        currency = str(content.get("currency", "IDR"))
        plans: dict[str, Plan] = {}
        for code, p in content["plans"].items():
            prices = {iv: _int(p["prices"][iv], f"plans.{code}.prices.{iv}") for iv in INTERVALS}
            limits = {n: _int(p["limits"][n], f"plans.{code}.limits.{n}") for n in LIMIT_NAMES}
            credit = {w: _int(v, f"plans.{code}.included_credit.{w}")
                      for w, v in p.get("included_credit", {}).items()}
            plans[code] = Plan(code=code, name=str(p["name"]), rank=_int(p["rank"], f"plans.{code}.rank"),
                               prices=prices, features={k: bool(v) for k, v in p.get("features", {}).items()},
                               limits=limits, included_credit=credit,
                               trial_days=_int(p.get("trial_days", 0), f"plans.{code}.trial_days"))
        add_ons = {
            code: AddOn(code=code, name=str(a["name"]),
                        prices={iv: _int(a["prices"][iv], f"add_ons.{code}.prices.{iv}") for iv in INTERVALS},
                        grants={k: _int(v, f"add_ons.{code}.grants.{k}") for k, v in a["grants"].items()})
            for code, a in content.get("add_ons", {}).items()
        }
        meters = {}
        for code, m in content.get("meters", {}).items():
            if m["wallet"] not in WALLETS:
                raise CatalogInvalid(f"meters.{code}.wallet must be one of {WALLETS}")
            meters[code] = Meter(code=code, name=str(m.get("name", code)), wallet=m["wallet"],
                                 unit_price=_int(m["unit_price"], f"meters.{code}.unit_price"))
        trial_plan = str(content["trial_plan"])
        default_plan = str(content["default_plan"])
    except KeyError as exc:
        raise CatalogInvalid(f"catalog is missing {exc.args[0]!r}") from exc
    for name in (trial_plan, default_plan):
        if name not in plans:
            raise CatalogInvalid(f"catalog names plan {name!r} that it does not define")
    if not plans[default_plan].is_free:
        raise CatalogInvalid("the default plan must be free")
    if plans[trial_plan].trial_days <= 0:
        raise CatalogInvalid("the trial plan needs trial_days")
    ranks = [p.rank for p in plans.values()]
    if len(set(ranks)) != len(ranks):
        raise CatalogInvalid("plan ranks must be distinct")
    return Catalog(id=catalog_id, version=version, currency=currency, trial_plan=trial_plan,
                   default_plan=default_plan, plans=plans, add_ons=add_ons, meters=meters)
