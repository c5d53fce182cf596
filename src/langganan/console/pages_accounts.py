"""Console: what an operator does to one account (issue 16) — extend a trial, change the plan now or at period
end, cancel at period end or undo that, give free time, adjust a wallet, send an invoice's email again, and
look at the account's portal as its customer sees it (read-only).

Each action is a sub-page of the account (`/console/accounts/{id}/actions/{action}`): its form asks for a
reason and an "I confirm" tick. Posting it runs the domain's own step (subscriptions/operator.py,
wallets.service.adjust, notifications/resend.py, portal.service.open_staff_view) and records the audit entry
(who, why, before and after) in the same unit of work; the domain emits the event webhooks see. Bad input or
an action the state does not allow re-renders the form with the error, and nothing changes. The staff role
decides who may (console/roles.py): ACCOUNTS for what moves no money, MONEY for free time and wallets, any
staff user for the read-only portal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.accounts import repository as accounts_repo
from langganan.accounts.models import Account
from langganan.audit import service as audit
from langganan.catalog import service as catalog_service
from langganan.console import plan_preview
from langganan.console.applicable import applicable, resendable, state_of
from langganan.console.pages import AccountsForm, Console, ConsoleForm, ConsolePage, MoneyForm
from langganan.console.roles import Permission
from langganan.invoices import repository as invoices_repo
from langganan.invoices.models import InvoiceStatus
from langganan.kit.clock import wall_now
from langganan.kit.errors import Conflict, DomainError, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.openapi import api_router
from langganan.kit.work import Work
from langganan.notifications import resend
from langganan.payments import service as payments
from langganan.payments.models import PaymentMethodType
from langganan.portal import service as portal_service
from langganan.subscriptions import audited, operator
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.history import COMP_ACTION
from langganan.subscriptions.rules import MAX_FREE_DAYS, MAX_TRIAL_EXTENSION_DAYS
from langganan.wallets import repository as wallets_repo
from langganan.wallets import service as wallets
from langganan.wallets.models import Wallet
from langganan.wallets.rules import MAX_ADJUSTMENT
from langganan.web import forms, sessions
from langganan.web.errors import PageError
from langganan.web.forms import whole_number
from langganan.web.models import SessionKind

router = api_router(prefix="/console/accounts", include_in_schema=False)
FormStr = Annotated[str, Form()]
# each action and the permission it needs (the page and its form alike)
ACTIONS: dict[str, Permission] = {
    "extend-trial": Permission.ACCOUNTS, "change-plan": Permission.ACCOUNTS, "cancel": Permission.ACCOUNTS,
    "undo-cancel": Permission.ACCOUNTS, "resend-invoice": Permission.ACCOUNTS, "free-period": Permission.MONEY,
    "adjust-wallet": Permission.MONEY, "view-portal": Permission.READ,
}


@dataclass(frozen=True)
class Done:
    """What an action did: the message key shown on the account page (`con.act.done.<key>`), or where to go."""

    key: str
    location: str | None = None


def wallet_state(wallet: Wallet) -> dict[str, Any]:
    return {"kind": str(wallet.kind), "balance": wallet.balance, "granted": wallet.granted_balance,
            "paid": wallet.balance - wallet.granted_balance}


def _allowed(c: Console, action: str) -> None:
    if action not in ACTIONS:
        raise PageError(404, "error.not_found")
    if not c.can(ACTIONS[action]):
        raise PageError(403, "error.forbidden")


def _page(c: Console, account_id: str, action: str, *, form: dict[str, str] | None = None,
          error: DomainError | None = None, status: int = 200) -> HTMLResponse:
    form = form or {}
    with c.ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        sub = subs_repo.for_account(s, account_id)
        catalog = catalog_service.current(s)
        shown: plan_preview.Preview | None = None
        if action == "change-plan" and form.get("plan") and form.get("when"):
            # what the change will do, for the inputs chosen (its refusal shown in place of the confirm form)
            try:
                shown = plan_preview.preview(s, c.ctx.settings, account, form["plan"], form.get("interval") or None,
                                             form["when"], now)
            except DomainError as exc:
                if error is None:
                    error, status = exc, exc.status
        return c.render("console/account_action.html", action=action, account=account, sub=sub,
                        plans=catalog.plans_by_rank(), wallets=wallets_repo.for_account(s, account_id),
                        invoices=resendable(s, account_id), billing_contact=resend.billing_contact(account),
                        form=form, error=error, preview=shown, applies=action in applicable(state_of(s, account, sub)),
                        max_trial_days=MAX_TRIAL_EXTENSION_DAYS,
                        max_free_days=MAX_FREE_DAYS, max_adjustment=MAX_ADJUSTMENT, http_status=status)


@router.get("/{account_id}/actions/{action}", response_class=HTMLResponse)
def action_page(account_id: str, action: str, c: ConsolePage, plan: str = "", interval: str = "",
                when: str = "") -> HTMLResponse:
    """An action's form; for change-plan with a plan and a time chosen (its first step, a GET form), also what the
    change will do (console/plan_preview.py) and the form that confirms exactly that."""
    _allowed(c, action)
    form = {"plan": plan, "interval": interval, "when": when} if action == "change-plan" and plan else None
    return _page(c, account_id, action, form=form)


def _act(c: Console, account_id: str, action: str, form: dict[str, str],
         do: Callable[[Work, datetime, Account, str], Done]) -> Response:
    """Check the reason and the confirmation, then run `do` in one unit of work (the change and its audit
    entry commit together); a refused action shows its form again with the error, nothing changed."""
    _allowed(c, action)
    try:
        reason = audit.require_reason(form.get("reason", ""))
        if form.get("confirm") != "yes":
            raise Unprocessable("confirm_required", "Tick “I confirm” to go ahead.", param="confirm")
        with c.ctx.unit() as (s, now):
            account = accounts_repo.get(s, account_id)
            done = do(s, now, account, reason)
    except DomainError as exc:
        if exc.code == "account_not_found":
            raise
        return _page(c, account_id, action, form=form, error=exc, status=exc.status)
    return RedirectResponse(done.location or f"/console/accounts/{account_id}?done={done.key}#actions",
                            status_code=303)


def _days(text: str) -> int:
    """A whole number of days as typed; anything else (negative, a fraction, letters) is refused."""
    days = whole_number(text.strip(), 4)
    if days is None:
        raise Unprocessable("invalid_days", "Write the number of days as a whole number.", param="days")
    return days


@router.post("/{account_id}/actions/extend-trial", response_class=HTMLResponse)
def extend_trial(account_id: str, c: AccountsForm, days: FormStr = "", reason: FormStr = "",
                 confirm: FormStr = "") -> Response:
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        count = _days(days)
        with audited.recorded(s, c.staff, "subscription.trial_extended", account.id, now, reason=why) as extra:
            subscriptions.extend_trial(s, account, count, now)
            extra["days"] = count
        return Done("extend-trial")
    return _act(c, account_id, "extend-trial", {"days": days, "reason": reason, "confirm": confirm}, do)


@router.post("/{account_id}/actions/change-plan", response_class=HTMLResponse)
def change_plan(account_id: str, c: AccountsForm, plan: FormStr = "", interval: FormStr = "", when: FormStr = "",
                preview: FormStr = "", reason: FormStr = "", confirm: FormStr = "") -> Response:
    """The change previewed: refused unless a fresh preview, under the subscription's lock, still says what the
    confirmed one said (`preview`, its token), and the invoice issued must be the amount previewed."""
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        with audited.recorded(s, c.staff, "subscription.plan_changed", account.id, now, reason=why) as extra:
            shown = plan_preview.preview(s, c.ctx.settings, account, plan, interval.strip() or None, when, now)
            if not preview:
                raise Unprocessable("preview_required", "Preview the change first.", param="plan")
            if preview != shown.token:
                raise Conflict("preview_changed", "What the change does has changed since it was previewed; check "
                               "it again.", param="plan")
            change = operator.change_now if when == "now" else operator.change_at_period_end
            result = change(s, c.ctx.settings, account, plan.strip(), interval.strip() or None, now)
            invoice = result.invoice
            if (invoice.total if invoice is not None else None) != (shown.amount if shown.charges_now else None):
                raise Conflict("preview_changed", "What the change does differs from its preview; check it again.",
                               param="plan")  # (rolled back: a preview that says one thing and a change another)
            if invoice is not None and invoice.status == InvoiceStatus.UNPAID:
                # as the API's change answers by default: a virtual account for a bank transfer, which the
                # invoice's email carries (the customer may pay by card from the portal instead); no card is charged
                payments.start(s, c.ctx.settings, c.ctx.gateway, invoice, method=PaymentMethodType.BANK_TRANSFER,
                               payment_method_id=None, bank=None, now=now)
            extra.update(requested={"plan": result.plan, "interval": result.interval, "when": when},
                         kind=result.kind, applies_at=result.applies_at.isoformat() if result.applies_at else None,
                         invoice_id=invoice.id if invoice else None,
                         invoice_number=invoice.number if invoice else None,
                         previewed_amount=shown.amount if shown.charges_now else None)
        if invoice is None:
            return Done("change-plan-scheduled")
        return Done("change-plan-changed" if invoice.status == InvoiceStatus.PAID else "change-plan-invoiced")
    return _act(c, account_id, "change-plan", {"plan": plan, "interval": interval, "when": when, "reason": reason,
                                               "confirm": confirm}, do)


@router.post("/{account_id}/actions/cancel", response_class=HTMLResponse)
def cancel(account_id: str, c: AccountsForm, reason: FormStr = "", confirm: FormStr = "") -> Response:
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        with audited.recorded(s, c.staff, "subscription.cancel_scheduled", account.id, now, reason=why):
            operator.schedule_cancel(s, account, now)
        return Done("cancel")
    return _act(c, account_id, "cancel", {"reason": reason, "confirm": confirm}, do)


@router.post("/{account_id}/actions/undo-cancel", response_class=HTMLResponse)
def undo_cancel(account_id: str, c: AccountsForm, reason: FormStr = "", confirm: FormStr = "") -> Response:
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        with audited.recorded(s, c.staff, "subscription.cancel_undone", account.id, now, reason=why):
            operator.undo_cancel(s, account, now)
        return Done("undo-cancel")
    return _act(c, account_id, "undo-cancel", {"reason": reason, "confirm": confirm}, do)


@router.post("/{account_id}/actions/free-period", response_class=HTMLResponse)
def free_period(account_id: str, c: MoneyForm, span: FormStr = "", days: FormStr = "", reason: FormStr = "",
                confirm: FormStr = "") -> Response:
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        if span not in ("days", "period"):
            raise Unprocessable("invalid_span", "Choose a number of days or one billing period.", param="span")
        count = _days(days) if span == "days" else None
        with audited.recorded(s, c.staff, COMP_ACTION, account.id, now, reason=why) as extra:
            operator.give_free_period(s, account, count, now)
            extra.update(days=count, span=span)
        return Done("free-period")
    return _act(c, account_id, "free-period", {"span": span, "days": days, "reason": reason, "confirm": confirm}, do)


@router.post("/{account_id}/actions/adjust-wallet", response_class=HTMLResponse)
def adjust_wallet(account_id: str, c: MoneyForm, wallet: FormStr = "", direction: FormStr = "", amount: FormStr = "",
                  reason: FormStr = "", confirm: FormStr = "") -> Response:
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        if direction not in ("grant", "deduct"):
            raise Unprocessable("invalid_direction", "Choose grant or deduct.", param="direction")
        rupiah = forms.rupiah(amount, 12)
        if rupiah is None:
            raise Unprocessable("invalid_amount", "Write the amount in whole rupiah (e.g. 50000).", param="amount")
        if wallet not in wallets.KINDS:
            raise Unprocessable("invalid_wallet", "Choose the conversation or the broadcast wallet.", param="wallet")
        row = wallets_repo.get(s, account.id, wallet, for_update=True)
        before = wallet_state(row)
        entry_id = new_id("aud")  # the ledger entry's reference: the audit entry that says who and why
        wallets.adjust(s, account.id, wallet, rupiah, deduct=direction == "deduct", reference=entry_id, now=now)
        entry = audit.record(s, c.staff, "wallet.adjusted", target_type="wallet", target_id=row.id, now=now,
                             account_id=account.id, reason=why, before=before,
                             after={**wallet_state(row), "direction": direction, "amount": rupiah})
        entry.id = entry_id  # (not written yet: it is inserted once, with this id)
        return Done("adjust-wallet")
    return _act(c, account_id, "adjust-wallet", {"wallet": wallet, "direction": direction, "amount": amount,
                                                 "reason": reason, "confirm": confirm}, do)


@router.post("/{account_id}/actions/resend-invoice", response_class=HTMLResponse)
def resend_invoice(account_id: str, c: AccountsForm, invoice: FormStr = "", reason: FormStr = "",
                   confirm: FormStr = "") -> Response:
    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        if not invoice.strip() or len(invoice) > 40:
            raise Unprocessable("invoice_required", "Choose an invoice.", param="invoice")
        found = invoices_repo.get(s, invoice.strip())
        delivery = resend.resend_invoice_email(s, account, found, wall_now())
        audit.record(s, c.staff, "invoice.email_resent", target_type="invoice", target_id=found.id, now=now,
                     account_id=account.id, reason=why,
                     after={"number": found.number, "recipient": delivery.recipient, "delivery_id": delivery.id})
        return Done("resend-invoice")
    return _act(c, account_id, "resend-invoice", {"invoice": invoice, "reason": reason, "confirm": confirm}, do)


@router.post("/{account_id}/actions/view-portal", response_class=HTMLResponse)
def view_portal(account_id: str, c: ConsoleForm, reason: FormStr = "", confirm: FormStr = "") -> Response:
    """A short-lived read-only portal session for this browser (the portal's own cookie), then the portal."""
    opened: list[tuple[datetime, str]] = []

    def do(s: Work, now: datetime, account: Account, why: str) -> Done:
        row, token = portal_service.open_staff_view(s, account, c.staff.id, wall_now())
        opened.append((row.expires_at, token))
        audit.record(s, c.staff, "account.portal_viewed", target_type="account", target_id=account.id, now=now,
                     account_id=account.id, reason=why, after={"expires_at": row.expires_at.isoformat()})
        return Done("view-portal", location="/portal")
    response = _act(c, account_id, "view-portal", {"reason": reason, "confirm": confirm}, do)
    if opened:
        expires_at, token = opened[0]
        sessions.set_cookie(response, c.request, SessionKind.PORTAL, token, expires_at)
    return response
