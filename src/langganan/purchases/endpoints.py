"""The routes that buy something and start its payment (payments.checkout): a plan change, a renewal,
add-ons, a top-up; and automatic renewal with a saved card turned on or off (payments.cards). They sit
above payments, which sits above the subscriptions, add-ons and wallets they buy; each route keeps its
path and tag."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from langganan.accounts import repository as accounts_repo
from langganan.addons.schemas import BuyIn
from langganan.invoices.models import Invoice
from langganan.kit.openapi import errors
from langganan.kit.work import Work
from langganan.payments import cards
from langganan.payments.checkout import checkout
from langganan.payments.schemas import InvoiceOut
from langganan.purchases.schemas import ChangeOut
from langganan.subscriptions import addons
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.endpoints import subscription_view
from langganan.subscriptions.rules import Quote
from langganan.subscriptions.schemas import AutoRenewRequest, ChangeRequest, RenewRequest, SubscriptionOut
from langganan.wallets import topups
from langganan.wallets.schemas import TopUpRequest
from langganan.web.context import AnyKey, Ctx

router = APIRouter(prefix="/v1/accounts/{account_id}")


@router.post("/subscription/change", response_model=ChangeOut, responses=errors(402), tags=["subscriptions"],
             summary="Upgrade (invoice now, switch when paid) or schedule a downgrade at period end")
def change_plan(account_id: str, body: ChangeRequest, ctx: Ctx, _: AnyKey) -> ChangeOut:
    quotes: list[Quote] = []

    def build(s: Work, now: datetime) -> Invoice | None:
        quote, invoice = subscriptions.change(s, ctx.settings, accounts_repo.get(s, account_id), body.plan,
                                              body.interval, now)
        quotes.append(quote)
        return invoice

    inv = checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)
    return ChangeOut(kind=quotes[0].api_kind, invoice=inv, applies_at=quotes[0].applies_at)


@router.post("/subscription/renew", response_model=InvoiceOut, tags=["subscriptions"],
             responses={201: {"model": InvoiceOut, "description": "A new renewal invoice (200: the open one again)"},
                        **errors(402)},
             summary="The renewal invoice for the period after the current one (returns the open one if any)")
def renew_subscription(account_id: str, body: RenewRequest, ctx: Ctx, _: AnyKey,
                       response: Response) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        invoice, created = subscriptions.renew(s, ctx.settings, accounts_repo.get(s, account_id), now)
        response.status_code = 201 if created else 200
        return invoice

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)


@router.post("/subscription/auto-renew", response_model=SubscriptionOut, tags=["subscriptions"],
             summary="Turn automatic renewal with a saved card on or off")
def set_auto_renew(account_id: str, body: AutoRenewRequest, ctx: Ctx, _: AnyKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, account_id)
        cards.set_auto_renew(s, account_id, body.enabled, body.payment_method_id, now)
    return subscription_view(ctx, account_id)


@router.post("/add-ons", response_model=InvoiceOut, status_code=201, responses=errors(402), tags=["add-ons"],
             summary="Buy add-ons: an invoice prorated to the period end; active when paid")
def buy_add_ons(account_id: str, body: BuyIn, ctx: Ctx, _: AnyKey) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        account = accounts_repo.get(s, account_id)
        sub = subs_repo.for_account(s, account_id, for_update=True)
        return addons.buy(s, ctx.settings, account, sub, body.add_on, body.quantity, now)

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)


@router.post("/top-ups", response_model=InvoiceOut, status_code=201, responses=errors(402), tags=["wallets"],
             summary="Top up a wallet: an invoice; the wallet is credited when it is paid")
def top_up(account_id: str, body: TopUpRequest, ctx: Ctx, _: AnyKey) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        return topups.issue(s, ctx.settings, accounts_repo.get(s, account_id), body.wallet, body.amount, now)

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)
