"""The routes that buy something and start its payment (payments.checkout): a plan change, a renewal,
add-ons, a top-up; and automatic renewal with a saved card turned on or off (payments.cards). They sit
above payments, which sits above the subscriptions, add-ons and wallets they buy; each route keeps its
path and tag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Response

from langganan.accounts import repository as accounts_repo
from langganan.addons.schemas import BuyIn
from langganan.apikeys.service import Principal
from langganan.audit import service as audit
from langganan.invoices.models import Invoice
from langganan.kit.openapi import api_router, errors
from langganan.kit.work import Work
from langganan.payments import cards
from langganan.payments.checkout import checkout
from langganan.payments.schemas import InvoiceOut
from langganan.purchases.schemas import ChangeOut
from langganan.subscriptions import addons, audited
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.endpoints import subscription_view
from langganan.subscriptions.rules import Quote
from langganan.subscriptions.schemas import AutoRenewRequest, ChangeRequest, RenewRequest, SubscriptionOut
from langganan.wallets import topups
from langganan.wallets.schemas import TopUpRequest
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts/{account_id}")


def _invoiced(s: Work, key: Principal, action: str, invoice: Invoice, now: datetime, **what: Any) -> None:
    """The audit entry of a purchase: what was bought and the invoice that asks for it (paid when it says so)."""
    audit.record(s, key.actor, action, target_type="invoice", target_id=invoice.id, now=now,
                 account_id=invoice.account_id, after={**what, "invoice_id": invoice.id, "total": invoice.total,
                                                       "status": invoice.status.value})


@router.post("/subscription/change", response_model=ChangeOut, responses=errors(402), tags=["subscriptions"],
             summary="Upgrade (invoice now, switch when paid) or schedule a downgrade at period end")
def change_plan(account_id: str, body: ChangeRequest, ctx: Ctx, key: AnyKey) -> ChangeOut:
    quotes: list[Quote] = []

    def build(s: Work, now: datetime) -> Invoice | None:
        account = accounts_repo.get(s, account_id)
        with audited.recorded(s, key.actor, "subscription.plan_changed", account_id, now) as extra:
            quote, invoice = subscriptions.change(s, ctx.settings, account, body.plan, body.interval, now)
            extra.update(kind=quote.api_kind, requested_plan=body.plan, requested_interval=body.interval,
                         applies_at=quote.applies_at.isoformat() if quote.applies_at else None,
                         invoice_id=invoice.id if invoice is not None else None,
                         payment_method=body.payment_method)
        quotes.append(quote)
        return invoice

    inv = checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)
    return ChangeOut(kind=quotes[0].api_kind, invoice=inv, applies_at=quotes[0].applies_at)


@router.post("/subscription/renew", response_model=InvoiceOut, tags=["subscriptions"],
             responses={201: {"model": InvoiceOut, "description": "A new renewal invoice (200: the open one again)"},
                        **errors(402)},
             summary="The renewal invoice for the period after the current one (returns the open one if any)")
def renew_subscription(account_id: str, body: RenewRequest, ctx: Ctx, key: AnyKey,
                       response: Response) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        invoice, created = subscriptions.renew(s, ctx.settings, accounts_repo.get(s, account_id), now)
        response.status_code = 201 if created else 200
        if created:
            _invoiced(s, key, "subscription.renewal_invoiced", invoice, now, payment_method=body.payment_method)
        return invoice

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)


@router.post("/subscription/auto-renew", response_model=SubscriptionOut, tags=["subscriptions"],
             summary="Turn automatic renewal with a saved card on or off")
def set_auto_renew(account_id: str, body: AutoRenewRequest, ctx: Ctx, key: AnyKey) -> SubscriptionOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, account_id)
        with audited.recorded(s, key.actor, "subscription.auto_renew_changed", account_id, now):
            cards.set_auto_renew(s, account_id, body.enabled, body.payment_method_id, now)
    return subscription_view(ctx, account_id)


@router.post("/add-ons", response_model=InvoiceOut, status_code=201, responses=errors(402), tags=["add-ons"],
             summary="Buy add-ons: an invoice prorated to the period end; active when paid")
def buy_add_ons(account_id: str, body: BuyIn, ctx: Ctx, key: AnyKey) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        account = accounts_repo.get(s, account_id)
        sub = subs_repo.for_account(s, account_id, for_update=True)
        invoice = addons.buy(s, ctx.settings, account, sub, body.add_on, body.quantity, now)
        _invoiced(s, key, "add_on.purchased", invoice, now, add_on=body.add_on, quantity=body.quantity,
                  payment_method=body.payment_method)
        return invoice

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)


@router.post("/top-ups", response_model=InvoiceOut, status_code=201, responses=errors(402), tags=["wallets"],
             summary="Top up a wallet: an invoice; the wallet is credited when it is paid")
def top_up(account_id: str, body: TopUpRequest, ctx: Ctx, key: AnyKey) -> InvoiceOut | None:
    def build(s: Work, now: datetime) -> Invoice:
        invoice = topups.issue(s, ctx.settings, accounts_repo.get(s, account_id), body.wallet, body.amount, now)
        _invoiced(s, key, "wallet.top_up_invoiced", invoice, now, wallet=str(body.wallet), amount=body.amount,
                  payment_method=body.payment_method)
        return invoice

    return checkout(ctx, build, method=body.payment_method, payment_method_id=body.payment_method_id, bank=body.bank)
