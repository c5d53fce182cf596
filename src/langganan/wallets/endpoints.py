from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query

from langganan.accounts import repository as accounts_repo
from langganan.kit.errors import Unprocessable
from langganan.kit.fields import Instant
from langganan.kit.openapi import api_router
from langganan.kit.web import Limit
from langganan.wallets import repository, service
from langganan.wallets.schemas import (
    EntryList,
    WalletList,
    WalletOut,
    WalletSettingsIn,
    entry_out,
    wallet_out,
)
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1", tags=["wallets"])
ENTRY_ID = re.compile(r"[0-9]{1,18}")  # ledger ids are 64-bit integers


@router.get("/accounts/{account_id}/wallets", response_model=WalletList)
def list_wallets(account_id: str, ctx: Ctx, _: AnyKey) -> WalletList:
    with ctx.unit() as (s, _now):
        accounts_repo.get(s, account_id)
        return WalletList(data=[wallet_out(w, ctx.settings.low_balance_thresholds)
                                for w in repository.for_account(s, account_id)])


@router.put("/accounts/{account_id}/wallets/{kind}", response_model=WalletOut,
            summary="Wallet settings: the low-balance alert threshold")
def put_wallet_settings(account_id: str, kind: str, body: WalletSettingsIn, ctx: Ctx, _: AnyKey) -> WalletOut:
    with ctx.unit() as (s, _now):
        accounts_repo.get(s, account_id)
        wallet = repository.get(s, account_id, kind, for_update=True)
        service.set_low_balance_threshold(wallet, body.low_balance_threshold, ctx.settings.low_balance_thresholds)
        return wallet_out(wallet, ctx.settings.low_balance_thresholds)


@router.get("/accounts/{account_id}/wallets/{kind}/transactions", response_model=EntryList,
            summary="Usage and Top-Up History: ledger entries, newest first")
def list_wallet_transactions(account_id: str, kind: str, ctx: Ctx, _: AnyKey,
                 type: Annotated[str | None, Query(description="usage, top_up, grant, expiry, reservation, "
                                                   "adjustment")] = None,
                 since: Instant | None = None, until: Instant | None = None, limit: Limit = 20,
                 starting_after: Annotated[str | None, Query(description="an entry id")] = None) -> EntryList:
    if type is not None and type not in repository.ENTRY_FILTERS:
        raise Unprocessable("invalid_parameter", f"type must be one of {', '.join(repository.ENTRY_FILTERS)}.",
                            param="type")
    if starting_after is not None and not ENTRY_ID.fullmatch(starting_after):
        raise Unprocessable("invalid_parameter", "starting_after must be an entry id.", param="starting_after")
    with ctx.unit() as (s, _now):
        wallet = repository.get(s, account_id, kind)
        rows, more = repository.entries(s, wallet.id, types=repository.ENTRY_FILTERS[type] if type else None,
                                        since=since, until=until, limit=limit,
                                        before_id=int(starting_after) if starting_after else None)
        return EntryList(data=[entry_out(e) for e in rows], has_more=more)
