"""A wallet's auto top-up over the API (API.md: PUT /v1/accounts/{id}/wallets/{kind}/auto-top-up)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from langganan.accounts import repository as accounts_repo
from langganan.audit import service as audit
from langganan.catalog.rules import WalletKind
from langganan.kit.errors import NotFound, NotFoundCode
from langganan.kit.fields import INT64_MAX
from langganan.kit.openapi import api_router, errors
from langganan.payments import auto_top_up
from langganan.payments.models import AutoTopUp
from langganan.wallets import repository as wallets_repo
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts/{account_id}/wallets/{kind}/auto-top-up", tags=["wallets"])


class AutoTopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: StrictBool
    threshold: StrictInt = Field(ge=0, le=INT64_MAX, description="Recharge when the balance falls below this")
    target: StrictInt = Field(gt=0, le=INT64_MAX, description="Bring the balance back up to this")
    payment_method_id: str | None = Field(default=None, max_length=40, description="Default: the default card")
    monthly_cap: StrictInt | None = Field(default=None, gt=0, le=INT64_MAX,
                                          description="At most this much recharged per calendar month")


class AutoTopUpOut(BaseModel):
    wallet: WalletKind
    enabled: bool
    threshold: int
    target: int
    payment_method_id: str | None
    monthly_cap: int | None
    paused: bool = Field(description="A decline paused it; turning it on again resumes it")
    recharged_this_month: int
    last_recharge_at: datetime | None


def _out(kind: WalletKind, row: AutoTopUp) -> AutoTopUpOut:
    return AutoTopUpOut(wallet=kind, enabled=row.enabled, threshold=row.threshold, target=row.target,
                        payment_method_id=row.payment_method_id, monthly_cap=row.monthly_cap,
                        paused=row.paused_at is not None, recharged_this_month=row.month_total,
                        last_recharge_at=row.last_at)


def _settings(out: AutoTopUpOut) -> dict[str, Any]:
    """What the audit log keeps of an auto top-up."""
    return out.model_dump(mode="json", include={"enabled", "threshold", "target", "payment_method_id", "monthly_cap",
                                                "paused"})


def _kind(kind: str) -> WalletKind:
    """A path segment is a plain string: a wallet kind that does not exist is not found."""
    try:
        return WalletKind(kind)
    except ValueError:
        raise NotFound("wallet", kind) from None


@router.put("", response_model=AutoTopUpOut, summary="Set a wallet's auto top-up",
            responses=errors(404, 422))
def set_auto_top_up(account_id: str, kind: str, body: AutoTopUpIn, ctx: Ctx, key: AnyKey) -> AutoTopUpOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, account_id)
        wallet_kind = _kind(kind)
        wallet = wallets_repo.get(s, account_id, wallet_kind)
        existing = s.get(AutoTopUp, wallet.id, with_for_update=True)  # (the lock configure takes next)
        before = _settings(_out(wallet_kind, existing)) if existing is not None else {}
        row = auto_top_up.configure(s, account_id, wallet_kind, auto_top_up.Setting(
            enabled=body.enabled, threshold=body.threshold, target=body.target,
            payment_method_id=body.payment_method_id, monthly_cap=body.monthly_cap), now)
        out = _out(wallet_kind, row)
        was, is_now = audit.changes(before, _settings(out))
        audit.record(s, key.actor, "auto_top_up.updated", target_type="wallet", target_id=wallet.id, now=now,
                     account_id=account_id, before=was, after={**is_now, "wallet": wallet_kind.value})
        return out


@router.get("", response_model=AutoTopUpOut, summary="A wallet's auto top-up", responses=errors(404))
def get_auto_top_up(account_id: str, kind: str, ctx: Ctx, _: AnyKey) -> AutoTopUpOut:
    wallet_kind = _kind(kind)
    with ctx.unit() as (s, _now):
        accounts_repo.get(s, account_id)
        wallet = wallets_repo.get(s, account_id, wallet_kind)
        row = s.get(AutoTopUp, wallet.id)
        if row is None:
            raise NotFoundCode("auto_top_up_not_set", "This wallet has no auto top-up; set one with PUT.")
        return _out(wallet_kind, row)
