from __future__ import annotations

from langganan.accounts import repository, service
from langganan.accounts.schemas import (
    AccountList,
    AccountOut,
    BillingInfo,
    account_out,
)
from langganan.kit.openapi import api_router
from langganan.kit.web import Limit, StartingAfter
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts", tags=["accounts"])


@router.get("", response_model=AccountList, summary="List accounts, or find one by external_id")
def list_accounts(ctx: Ctx, _: AnyKey, external_id: str | None = None, limit: Limit = 20,
                  starting_after: StartingAfter = None) -> AccountList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_accounts(s, external_id=external_id, limit=limit, starting_after=starting_after)
        return AccountList(data=[account_out(a) for a in rows], has_more=more)


@router.get("/{account_id}", response_model=AccountOut)
def get_account(account_id: str, ctx: Ctx, _: AnyKey) -> AccountOut:
    with ctx.unit() as (s, _now):
        return account_out(repository.get(s, account_id))


@router.put("/{account_id}/billing-info", response_model=AccountOut,
            summary="Set billing information (required before any paid purchase)")
def put_billing_info(account_id: str, body: BillingInfo, ctx: Ctx, _: AnyKey) -> AccountOut:
    with ctx.unit() as (s, now):
        account = repository.get(s, account_id, for_update=True)
        service.update_billing_info(s, account, body.model_dump(), now)
        return account_out(account)
