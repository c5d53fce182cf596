"""The account routes that reach above accounts: opening one (with its wallets and first subscription)
and reporting its users and contacts (alerts on the plan's limits). The rest of /v1/accounts is
`accounts.endpoints`."""

from __future__ import annotations

from langganan.accounts import repository
from langganan.accounts import service as accounts
from langganan.accounts.schemas import AccountCreate, AccountOut, UsageCounts, account_out
from langganan.kit.openapi import api_router
from langganan.notifications import alerts
from langganan.onboarding import service
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts", tags=["accounts"])


@router.post("", status_code=201, response_model=AccountOut,
             summary="Create an account (on Free, or on the trial plan with start_trial)")
def create_account(body: AccountCreate, ctx: Ctx, _: AnyKey) -> AccountOut:
    with ctx.unit() as (s, now):
        account = service.create(s, accounts.NewAccount(**body.model_dump()), now)
        return account_out(account)


@router.put("/{account_id}/usage-counts", response_model=AccountOut,
            summary="Report the account's current users and contacts")
def put_usage_counts(account_id: str, body: UsageCounts, ctx: Ctx, _: AnyKey) -> AccountOut:
    with ctx.unit() as (s, now):
        account = repository.get(s, account_id, for_update=True)
        before = account.users_count, account.contacts_count
        accounts.update_usage_counts(s, account, body.users, body.contacts)
        alerts.counts_changed(s, account, *before, now)  # 80% / 100% of the users and contacts limits
        return account_out(account)
