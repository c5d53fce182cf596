"""The console's account actions over HTTP, on SQLite and PostgreSQL: each changes what it should and nothing
else, writes one audit entry with the state before and after and the reason, emits the event webhooks see,
refuses bad input (the error on the page, nothing changed), is allowed only to the roles that may use it,
and leaves `langganan verify` clean."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from langganan.accounts import repository as accounts_repo
from langganan.app import create_app, prepare
from langganan.audit.models import ActorKind, AuditEntry
from langganan.console import service as staff
from langganan.console.applicable import resendable
from langganan.console.models import StaffUser
from langganan.events.models import Event
from langganan.invoices import repository as invoices_repo
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.errors import DomainError
from langganan.notifications import resend
from langganan.notifications.models import Delivery
from langganan.notifications.worker import run_notifications
from langganan.subscriptions import operator
from langganan.subscriptions import service as subscriptions
from langganan.subscriptions.models import PeriodKind, Subscription, SubscriptionPeriod
from langganan.wallets import service as wallets
from langganan.wallets.models import WalletEntry
from langganan.web.models import WebSession
from tests.api.test_portal_security import CSRF_RE, _console_login, portal_visitor
from tests.conftest import ADMIN_KEY, BILLING, Env, make_settings
from tests.notify_support import SMTP_PASSWORD, SMTP_USER, Inbox, body_text, smtp_server

PASSWORD = "correct horse battery"
ACTIONS = ("extend-trial", "change-plan", "cancel", "undo-cancel", "resend-invoice", "free-period", "adjust-wallet",
           "view-portal")
ALLOWED = {"owner": set(ACTIONS), "finance": {"free-period", "adjust-wallet", "view-portal"},
           "support": {"extend-trial", "change-plan", "cancel", "undo-cancel", "resend-invoice", "view-portal"},
           "read_only": {"view-portal"}}


def staff_client(env: Env, role: str = "owner") -> tuple[TestClient, str]:
    email = f"{role.replace('_', '-')}@example.id"
    with env.db.transaction() as s:
        if s.scalar(select(StaffUser).where(StaffUser.email == email)) is None:
            staff.create_staff(s, email, role.title(), PASSWORD, wall_now(), role=role)
    client = TestClient(env.client.app)
    assert _console_login(env, client, email, PASSWORD).status_code == 303
    csrf = CSRF_RE.search(client.get("/console").text).group(1)  # type: ignore[union-attr]
    return client, csrf


def act(client: TestClient, csrf: str, account_id: str, action: str, **form: Any) -> Any:
    data = {"reason": "customer asked on the phone", "confirm": "yes", "csrf_token": csrf, **form}
    return client.post(f"/console/accounts/{account_id}/actions/{action}", data=data, follow_redirects=False)


PREVIEW_RE = re.compile(r'name="preview" value="([^"]*)"')


def preview(client: TestClient, account_id: str, **choice: str) -> tuple[Any, str | None]:
    """The change-plan page for `choice` (plan, interval, when): the page and its confirm form's token (None when
    the page shows a refusal instead)."""
    r = client.get(f"/console/accounts/{account_id}/actions/change-plan", params=choice)
    found = PREVIEW_RE.search(r.text)
    return r, html.unescape(found.group(1)) if found else None


def change_plan(client: TestClient, csrf: str, account_id: str, **choice: str) -> Any:
    """Preview, then confirm what was previewed (as the two-step form does)."""
    page, token = preview(client, account_id, **choice)
    assert token is not None, page.text
    return act(client, csrf, account_id, "change-plan", preview=token, **choice)


def rupiah(text: str) -> int:
    """An amount as a page writes it (Rp1.234.567, Rp1,234,567 or Rp 1.234.567) in whole rupiah."""
    found = re.search(r"Rp\s?([\d.,]+)", text)
    assert found, text
    return int(re.sub(r"\D", "", found.group(1)))


def shown(page: Any, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</(?:strong|dd|p)>', page.text, re.S)
    assert found, (testid, page.text[-3000:])
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def done(r: Any, account_id: str, key: str) -> None:
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/console/accounts/{account_id}?done={key}#actions"


def alert(r: Any) -> str:
    found = re.search(r'role="alert" id="act-error">([^<]*)<', r.text)
    assert found, r.text
    return found.group(1)


def audits(env: Env, account_id: str) -> list[AuditEntry]:
    with env.db.transaction() as s:
        rows = list(s.scalars(select(AuditEntry).where(  # the staff's own (the API calls that set up are audited too)
            AuditEntry.account_id == account_id, AuditEntry.actor_kind == ActorKind.STAFF)
            .order_by(AuditEntry.at, AuditEntry.id)))
        s.expunge_all()
        return rows


def state(env: Env, account_id: str) -> tuple[Any, ...]:
    """Everything an action could change, as the API and the tables show it."""
    invoices = env.ok(env.get(f"/v1/invoices?account_id={account_id}&limit=100"))["data"]
    with env.db.transaction() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(table).where(where)) for table, where in (
            (AuditEntry, AuditEntry.account_id == account_id), (Event, Event.account_id == account_id),
            (SubscriptionPeriod, SubscriptionPeriod.subscription_id.in_(
                select(Subscription.id).where(Subscription.account_id == account_id))),
            (Delivery, Delivery.account_id == account_id), (WebSession, WebSession.account_id == account_id)))
        entries = s.scalar(select(func.count()).select_from(WalletEntry))
    return (env.subscription(account_id), env.ok(env.get(f"/v1/accounts/{account_id}/wallets"))["data"],
            [(i["id"], i["status"]) for i in invoices], counts, entries)


def refused(env: Env, client: TestClient, csrf: str, account_id: str, action: str, status: int, text: str,
            **form: Any) -> None:
    before = state(env, account_id)
    r = act(client, csrf, account_id, action, **form)
    assert r.status_code == status, (form, r.status_code, r.text[:300])
    assert text in alert(r), (form, alert(r))
    assert state(env, account_id) == before, form


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def next_due(env: Env, subscription_id: str) -> datetime | None:
    with env.db.transaction() as s:
        return s.scalar(select(Subscription.next_due_at).where(Subscription.id == subscription_id))


def growth(env: Env, **fields: Any) -> dict[str, Any]:
    acc = env.account(locale="en", **fields)
    env.buy(acc["id"], "growth")  # 15 Jan 2026 10:00 WIB to 15 Feb
    return acc


def test_extend_a_trial_moves_its_end_and_its_due_work(env: Env) -> None:
    acc = env.account(locale="en", start_trial=True)
    old_end = at(env.subscription(acc["id"])["trial_end"])
    assert next_due(env, env.subscription(acc["id"])["id"]) == old_end - timedelta(days=7)  # trial.will_end
    client, csrf = staff_client(env)
    page = client.get(f"/console/accounts/{acc['id']}")
    assert f"/console/accounts/{acc['id']}/actions/extend-trial" in page.text
    form = client.get(f"/console/accounts/{acc['id']}/actions/extend-trial")
    assert form.status_code == 200 and "Days (1 to 90)" in form.text and "I confirm" in form.text

    done(act(client, csrf, acc["id"], "extend-trial", days="10"), acc["id"], "extend-trial")
    sub = env.subscription(acc["id"])
    assert at(sub["trial_end"]) == at(sub["current_period_end"]) == old_end + timedelta(days=10)
    assert sub["status"] == "trialing" and sub["plan"] == "starter"
    [entry] = audits(env, acc["id"])
    assert (entry.action, entry.target_type, entry.target_id) == ("subscription.trial_extended", "subscription",
                                                                  sub["id"])
    assert entry.actor_label == "owner@example.id" and entry.reason == "customer asked on the phone"
    assert at(entry.before["trial_end"]) == old_end  # type: ignore[index]
    assert at(entry.after["trial_end"]) == old_end + timedelta(days=10) and entry.after["days"] == 10  # type: ignore[index]
    assert env.event_types(acc["id"])[-1] == "trial.extended"
    # the due runner's index follows: the trial notice moved from 7 days before the old end to 7 days before the
    # new one, so the earliest item is now the old end, where only a new month of the trial's credit starts
    assert next_due(env, sub["id"]) == old_end
    assert "The trial was extended." in client.get(f"/console/accounts/{acc['id']}?done=extend-trial").text

    refused(env, client, csrf, acc["id"], "extend-trial", 422, "whole number", days="-3")
    refused(env, client, csrf, acc["id"], "extend-trial", 422, "whole number", days="ten")
    refused(env, client, csrf, acc["id"], "extend-trial", 422, "whole number", days="0")
    refused(env, client, csrf, acc["id"], "extend-trial", 422, "whole number", days="91")
    refused(env, client, csrf, acc["id"], "extend-trial", 422, "Say why", days="5", reason="  ")
    refused(env, client, csrf, acc["id"], "extend-trial", 422, "500 characters", days="5", reason="x" * 501)
    refused(env, client, csrf, acc["id"], "extend-trial", 422, "I confirm", days="5", confirm="")
    r = client.get(f"/console/accounts/{acc['id']}/actions/extend-trial?lang=id")
    assert "Hari (1 sampai 90)" in r.text and "Saya yakin" in r.text
    client.get("/console?lang=en")  # (the language is remembered in a cookie)

    env.advance(days=32)  # past the old end: still in the trial, the notice came for the new end
    assert env.subscription(acc["id"])["status"] == "trialing"
    env.advance(days=10)
    sub = env.subscription(acc["id"])
    assert (sub["plan"], sub["status"]) == ("free", "active")
    types = env.event_types(acc["id"])
    assert types.count("trial.will_end") == 1 and "trial.ended" in types
    plain = env.account(locale="en")
    refused(env, client, csrf, plain["id"], "extend-trial", 409, "Only a subscription in its trial", days="5")
    env.assert_books()


def test_change_plan_now_invoices_as_the_customer_would_and_at_period_end_renews_on_the_new_plan(env: Env) -> None:
    acc = growth(env)
    client, csrf = staff_client(env)
    env.advance(days=5)
    preview = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/preview", {"plan": "pro"}))
    done(change_plan(client, csrf, acc["id"], plan="pro", interval="month", when="now"), acc["id"],
         "change-plan-invoiced")
    sub = env.subscription(acc["id"])
    assert sub["plan"] == "growth"  # switches when paid
    invoice = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&status=unpaid"))["data"][0]
    assert invoice["type"] == "plan_change" and invoice["total"] == preview["amount_due"]
    assert [ln["kind"] for ln in invoice["lines"]] == ["proration_credit", "proration_charge"]
    assert invoice["payment"]["method"] == "bank_transfer" and invoice["payment"]["va_number"]  # as the API's
    [entry] = audits(env, acc["id"])
    assert entry.action == "subscription.plan_changed" and entry.after["invoice_number"] == invoice["number"]  # type: ignore[index]
    assert entry.after["requested"] == {"plan": "pro", "interval": "month", "when": "now"}  # type: ignore[index]
    env.pay_va(invoice)
    assert env.subscription(acc["id"])["plan"] == "pro"
    # a downgrade "now" waits for the period end, as the customer's does
    done(change_plan(client, csrf, acc["id"], plan="growth", interval="month", when="now"), acc["id"],
         "change-plan-scheduled")
    assert env.subscription(acc["id"])["pending_change"]["plan"] == "growth"

    other = growth(env)
    done(change_plan(client, csrf, other["id"], plan="pro", interval="month", when="period_end"),
         other["id"], "change-plan-scheduled")
    sub = env.subscription(other["id"])
    assert sub["plan"] == "growth" and sub["pending_change"] == {"plan": "pro", "interval": "month",
                                                                 "applies_at": sub["current_period_end"]}
    assert [i["type"] for i in env.ok(env.get(f"/v1/invoices?account_id={other['id']}"))["data"]] == ["subscription"]
    assert env.event_types(other["id"])[-1] == "subscription.change_scheduled"
    env.advance(days=25)  # the renewal invoice (7 days before the end) is priced on the new plan
    renewal = env.ok(env.get(f"/v1/invoices?account_id={other['id']}&type=renewal"))["data"][0]
    assert renewal["package"] == "Pro (monthly)" and renewal["total"] == 999_000
    env.pay_va(renewal)
    env.advance(days=7)
    assert env.subscription(other["id"])["plan"] == "pro"
    types = env.event_types(other["id"])
    assert "subscription.upgraded" in types and "subscription.downgraded" not in types

    refused(env, client, csrf, other["id"], "change-plan", 404, "no such plan", plan="platinum", interval="month",
            when="now")
    refused(env, client, csrf, other["id"], "change-plan", 409, "already on that plan", plan="pro", interval="month",
            when="now")
    refused(env, client, csrf, other["id"], "change-plan", 422, "now or at period end", plan="growth",
            interval="month", when="later")
    refused(env, client, csrf, other["id"], "change-plan", 422, "monthly or yearly", plan="growth",
            interval="weekly", when="now")
    free = env.account(locale="en")
    refused(env, client, csrf, free["id"], "change-plan", 409, "change it now instead", plan="growth",
            interval="month", when="period_end")
    env.assert_books()


@pytest.fixture
def taxed(database: Database) -> Iterator[Env]:
    """PPN 12% on DPP 11/12 of subscriptions (PMK 131/2024): a preview's amount is the invoice's total, tax in."""
    settings = make_settings(database, tax_rate_subscription=Decimal(12), tax_base_subscription="11/12")
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_the_preview_shows_the_invoice_the_change_then_issues(taxed: Env) -> None:
    env = taxed
    client, csrf = staff_client(env)
    # an upgrade between paid plans: prorated, tax on top; the page says so before anything is issued
    acc = growth(env)
    env.advance(days=5)
    page, token = preview(client, acc["id"], plan="pro", interval="month", when="now")
    assert page.status_code == 200 and token is not None
    amount = rupiah(shown(page, "preview-amount"))
    assert "Unused time on Growth" not in page.text  # (the invoice's line texts are English; the page's are not)
    assert "the unused time on Growth is credited" in page.text and "tax included" in page.text
    assert [i["type"] for i in env.ok(env.get(f"/v1/invoices?account_id={acc['id']}"))["data"]] == ["subscription"]
    # the same page in Indonesian says the same amount
    assert rupiah(shown(client.get(f"/console/accounts/{acc['id']}/actions/change-plan?plan=pro&interval=month"
                                   "&when=now&lang=id"), "preview-amount")) == amount
    client.get("/console?lang=en")
    done(act(client, csrf, acc["id"], "change-plan", plan="pro", interval="month", when="now", preview=token),
         acc["id"], "change-plan-invoiced")
    [invoice] = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=plan_change"))["data"]
    assert invoice["total"] == amount and invoice["tax"] > 0
    assert rupiah(shown(page, "preview-amount")) == invoice["total"]
    assert audits(env, acc["id"])[-1].after["previewed_amount"] == invoice["total"]  # type: ignore[index]

    # a purchase during the trial: the full price with tax, and the page says the trial ends when it is paid
    trial = env.account(locale="en", start_trial=True)
    page, token = preview(client, trial["id"], plan="growth", interval="year", when="now")
    assert "The trial (until" in page.text and "the days left are not carried over" in page.text
    amount = rupiah(shown(page, "preview-amount"))
    done(act(client, csrf, trial["id"], "change-plan", plan="growth", interval="year", when="now",
             preview=token or ""), trial["id"], "change-plan-invoiced")
    [invoice] = env.ok(env.get(f"/v1/invoices?account_id={trial['id']}"))["data"]
    assert (invoice["type"], invoice["total"]) == ("subscription", amount)
    assert env.subscription(trial["id"])["status"] == "trialing"  # until it is paid

    # what was previewed is what is done: a day later the proration differs, the old confirmation is refused
    other = growth(env)
    page, token = preview(client, other["id"], plan="pro", interval="month", when="now")
    env.advance(days=1)
    before = state(env, other["id"])
    r = act(client, csrf, other["id"], "change-plan", plan="pro", interval="month", when="now", preview=token or "")
    assert r.status_code == 409 and "changed since the preview" in alert(r)
    assert state(env, other["id"]) == before
    fresh = rupiah(shown(r, "preview-amount"))  # the page shows the new preview to confirm instead
    assert fresh != rupiah(shown(page, "preview-amount"))
    refused(env, client, csrf, other["id"], "change-plan", 422, "Preview the change first", plan="pro",
            interval="month", when="now")
    # a change that waits charges nothing now and says what the first renewal on the new plan will cost
    page, token = preview(client, other["id"], plan="pro", interval="month", when="period_end")
    assert shown(page, "preview-amount") == "Nothing is charged now"
    renewal_amount = rupiah(shown(page, "preview-renewal"))
    done(act(client, csrf, other["id"], "change-plan", plan="pro", interval="month", when="period_end",
             preview=token or ""), other["id"], "change-plan-scheduled")
    assert [i["type"] for i in env.ok(env.get(f"/v1/invoices?account_id={other['id']}"))["data"]] == ["subscription"]
    env.advance(days=25)
    [renewal] = env.ok(env.get(f"/v1/invoices?account_id={other['id']}&type=renewal"))["data"]
    assert renewal["package"] == "Pro (monthly)" and renewal["total"] == renewal_amount
    # a downgrade the account's usage does not fit: the preview says it is refused and offers no confirmation
    big = env.account(locale="en")
    env.buy(big["id"], "pro")
    env.ok(env.put(f"/v1/accounts/{big['id']}/usage-counts", {"users": 20, "contacts": 1000}))
    page, token = preview(client, big["id"], plan="growth", interval="month", when="now")
    assert token is None and "Refused: the account's current usage does not fit Growth" in html.unescape(page.text)
    assert "Users" in shown(page, "preview-blocked")
    env.assert_books()


def test_cancel_at_period_end_and_undo_it(env: Env) -> None:
    acc = growth(env)
    client, csrf = staff_client(env)
    done(act(client, csrf, acc["id"], "cancel"), acc["id"], "cancel")
    assert env.subscription(acc["id"])["cancel_at_period_end"] is True
    [entry] = audits(env, acc["id"])
    assert entry.action == "subscription.cancel_scheduled" and entry.before["cancel_at_period_end"] is False  # type: ignore[index]
    assert entry.after["cancel_at_period_end"] is True  # type: ignore[index]
    page = client.get(f"/console/accounts/{acc['id']}").text
    assert "/actions/undo-cancel" in page and "/actions/cancel\"" not in page
    refused(env, client, csrf, acc["id"], "cancel", 409, "already scheduled")

    done(act(client, csrf, acc["id"], "undo-cancel"), acc["id"], "undo-cancel")
    assert env.subscription(acc["id"])["cancel_at_period_end"] is False
    assert audits(env, acc["id"])[-1].action == "subscription.cancel_undone"
    assert env.event_types(acc["id"])[-2:] == ["subscription.cancel_scheduled", "subscription.cancel_undone"]
    refused(env, client, csrf, acc["id"], "undo-cancel", 409, "nothing to undo")
    free = env.account(locale="en")
    refused(env, client, csrf, free["id"], "cancel", 409, "already on Free")
    env.advance(days=25)  # the renewal is invoiced again as for any subscription that renews
    assert env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=renewal"))["data"]
    env.assert_books()


def test_free_time_lengthens_the_paid_period_with_no_invoice_and_the_renewal_follows(env: Env) -> None:
    acc = growth(env)
    end = at(env.subscription(acc["id"])["current_period_end"])
    client, csrf = staff_client(env)
    done(act(client, csrf, acc["id"], "free-period", span="days", days="10"), acc["id"], "free-period")
    sub = env.subscription(acc["id"])
    assert at(sub["current_period_end"]) == end + timedelta(days=10) and sub["plan"] == "growth"
    assert len(env.ok(env.get(f"/v1/invoices?account_id={acc['id']}"))["data"]) == 1  # no invoice
    [entry] = audits(env, acc["id"])
    assert entry.action == "subscription.free_period_given" and entry.after["days"] == 10  # type: ignore[index]
    with env.db.transaction() as s:
        last = s.scalars(select(SubscriptionPeriod).where(SubscriptionPeriod.subscription_id == sub["id"])
                         .order_by(SubscriptionPeriod.id.desc())).first()
        assert last is not None and last.kind == PeriodKind.COMP
    assert env.event_types(acc["id"])[-1] == "subscription.free_period_given"
    env.assert_books()
    env.advance(days=35)  # 19 Feb: the renewal is invoiced 7 days before the new end, for [25 Feb, 25 Mar)
    renewal = env.ok(env.get(f"/v1/invoices?account_id={acc['id']}&type=renewal"))["data"][0]
    assert at(renewal["period_start"]) == end + timedelta(days=10)
    assert at(renewal["period_end"]) == datetime.fromisoformat("2026-03-25T03:00:00+00:00")
    env.pay_va(renewal)
    env.advance(days=7)
    sub = env.subscription(acc["id"])
    assert at(sub["current_period_start"]) == end + timedelta(days=10) and sub["status"] == "active"
    env.assert_books()

    period = growth(env)
    period_sub = env.subscription(period["id"])
    done(act(client, csrf, period["id"], "free-period", span="period"), period["id"], "free-period")
    before_end = at(period_sub["current_period_end"])
    sub = env.subscription(period["id"])
    assert at(sub["current_period_end"]) - before_end >= timedelta(days=28)
    assert at(sub["current_period_end"]).day == before_end.day  # one billing period keeps the anchor day
    # an upgrade during the free time: prorated over the longer period, the books still hold
    up = env.ok(env.post(f"/v1/accounts/{period['id']}/subscription/change", {"plan": "pro"}))["invoice"]
    env.ok(env.post(f"/v1/invoices/{up['id']}/mark-paid", {"reference": "BCA 2"}))
    assert env.subscription(period["id"])["plan"] == "pro"
    env.assert_books()

    for days, text in (("0", "whole number"), ("366", "whole number"), ("-5", "whole number"), ("", "whole number")):
        refused(env, client, csrf, period["id"], "free-period", 422, text, span="days", days=days)
    refused(env, client, csrf, period["id"], "free-period", 422, "one billing period", span="forever")
    refused(env, client, csrf, env.account(locale="en")["id"], "free-period", 409, "given on a paid plan",
            span="period")
    refused(env, client, csrf, env.account(locale="en", start_trial=True)["id"], "free-period", 409,
            "extend the trial", span="period")
    ahead = growth(env)
    renewal = env.ok(env.post(f"/v1/accounts/{ahead['id']}/subscription/renew", {}), 201)
    env.pay_va(renewal)
    refused(env, client, csrf, ahead["id"], "free-period", 409, "already paid for", span="days", days="5")
    env.assert_books()


def test_adjust_a_wallet_through_the_ledger(env: Env) -> None:
    acc = env.account(locale="en")  # Free: Rp15.000 of free conversation credit
    client, csrf = staff_client(env)
    done(act(client, csrf, acc["id"], "adjust-wallet", wallet="conversation", direction="grant", amount="50.000"),
         acc["id"], "adjust-wallet")
    wallet = env.wallet(acc["id"])
    assert (wallet["balance"], wallet["paid_balance"]) == (65_000, 50_000)
    [entry] = audits(env, acc["id"])
    assert (entry.action, entry.before, entry.after) == ("wallet.adjusted",
                                                         {"kind": "conversation", "balance": 15_000, "granted": 15_000,
                                                          "paid": 0},
                                                         {"kind": "conversation", "balance": 65_000, "granted": 15_000,
                                                          "paid": 50_000, "direction": "grant", "amount": 50_000})
    [moved] = env.ok(env.get(f"/v1/accounts/{acc['id']}/wallets/conversation/transactions?type=adjustment"))["data"]
    assert (moved["amount"], moved["balance_after"], moved["reference"]) == (50_000, 65_000, entry.id)

    done(act(client, csrf, acc["id"], "adjust-wallet", wallet="conversation", direction="deduct", amount="60000"),
         acc["id"], "adjust-wallet")  # paid credit first, then free credit
    wallet = env.wallet(acc["id"])
    assert (wallet["balance"], wallet["paid_balance"]) == (5_000, 0)
    refused(env, client, csrf, acc["id"], "adjust-wallet", 422, "below zero", wallet="conversation",
            direction="deduct", amount="5001")
    for amount in ("0", "-1", "abc", "", "100000001"):
        refused(env, client, csrf, acc["id"], "adjust-wallet", 422, "whole number of rupiah", wallet="conversation",
                direction="grant", amount=amount)
    refused(env, client, csrf, acc["id"], "adjust-wallet", 422, "conversation or the broadcast", wallet="savings",
            direction="grant", amount="1000")
    refused(env, client, csrf, acc["id"], "adjust-wallet", 422, "grant or deduct", wallet="broadcast",
            direction="steal", amount="1000")
    done(act(client, csrf, acc["id"], "adjust-wallet", wallet="broadcast", direction="grant", amount="10000"),
         acc["id"], "adjust-wallet")
    assert env.wallet(acc["id"], "broadcast")["balance"] == 10_000
    assert env.event_types(acc["id"]).count("wallet.adjusted") == 3
    assert len(audits(env, acc["id"])) == 3
    env.assert_books()


@pytest.fixture
def mail(database: Database) -> Iterator[tuple[Env, Inbox]]:
    with smtp_server() as (port, inbox):
        settings = make_settings(database, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
                                 smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD,
                                 smtp_from="Langganan Billing <billing@langganan.example>")
        prepare(settings, database, migrate_if_empty=False)
        with TestClient(create_app(settings, database)) as client:
            yield Env(db=database, settings=settings, client=client,
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}), inbox


def deliver(env: Env) -> None:
    run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]


def test_resend_an_invoice_email_to_the_billing_contact(mail: tuple[Env, Inbox]) -> None:
    env, inbox = mail
    acc = env.account(locale="en", name="Toko Maju")
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    client, csrf = staff_client(env)
    refused(env, client, csrf, acc["id"], "resend-invoice", 409, "not been written yet", invoice=invoice["id"])
    deliver(env)
    [first] = [m for m in inbox.messages if invoice["number"] in str(m["Subject"])]
    form = client.get(f"/console/accounts/{acc['id']}/actions/resend-invoice").text
    assert invoice["number"] in form and BILLING["email"] in form

    done(act(client, csrf, acc["id"], "resend-invoice", invoice=invoice["id"]), acc["id"], "resend-invoice")
    [entry] = audits(env, acc["id"])
    assert (entry.action, entry.target_id) == ("invoice.email_resent", invoice["id"])
    assert entry.after["recipient"] == BILLING["email"]  # type: ignore[index]
    deliver(env)
    [_, again] = inbox.to(BILLING["email"])  # the first email went to the billing contact too (owner in Cc)
    def without_link(message: Any) -> str:  # each email signs in with its own one-time pay link
        return re.sub(r"email-link/[\w-]+", "email-link/TOKEN", body_text(message))

    assert again["Subject"] == first["Subject"] and without_link(again) == without_link(first)
    assert invoice["payment"]["va_number"] in body_text(again)

    env.ok(env.post(f"/v1/invoices/{invoice['id']}/cancel"))
    refused(env, client, csrf, acc["id"], "resend-invoice", 409, "canceled, expired or failed", invoice=invoice["id"])
    other = env.account(locale="en")
    theirs = env.ok(env.post(f"/v1/accounts/{other['id']}/subscription/change", {"plan": "growth"}))["invoice"]
    deliver(env)
    refused(env, client, csrf, acc["id"], "resend-invoice", 409, "another account", invoice=theirs["id"])
    refused(env, client, csrf, acc["id"], "resend-invoice", 404, "no such invoice", invoice="inv_nope")
    refused(env, client, csrf, acc["id"], "resend-invoice", 422, "Choose an invoice", invoice="")
    env.assert_books()


def test_open_the_portal_read_only(env: Env) -> None:
    acc = growth(env)
    client, csrf = staff_client(env, "read_only")
    r = act(client, csrf, acc["id"], "view-portal")
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    assert "path=/portal" in r.headers["set-cookie"].lower()
    [entry] = audits(env, acc["id"])
    assert (entry.action, entry.actor_label) == ("account.portal_viewed", "read-only@example.id")
    with env.db.transaction() as s:
        [row] = s.scalars(select(WebSession).where(WebSession.account_id == acc["id"])).all()
        assert row.staff_user_id is not None
        assert timedelta(minutes=29) < row.expires_at - wall_now() <= timedelta(minutes=30)

    before = state(env, acc["id"])
    for path in ("/portal", "/portal/balance", "/portal/invoices", "/portal/payment", "/portal/billing",
                 "/portal/upgrade", "/portal/add-ons", "/portal/notifications", "/portal/balance/top-up"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Staff view: you see this portal as the customer does." in page.text, path
        controls = re.findall(r"<(?:input|select|textarea|button)\b[^>]*>", page.text)
        assert controls and all(" disabled" in c or 'type="button"' in c for c in controls), path
    home = client.get("/portal").text
    portal_csrf = CSRF_RE.search(home).group(1)  # type: ignore[union-attr]
    for path, form in (("/portal/unsubscribe", {}), ("/portal/upgrade", {"plan": "pro", "interval": "month"}),
                       ("/portal/renew", {}), ("/portal/balance/top-up", {"wallet": "broadcast", "amount": "10000"}),
                       ("/portal/billing", {"company_name": "Evil"}), ("/portal/notifications/read", {}),
                       ("/portal/logout", {})):
        r = client.post(path, data={**form, "csrf_token": portal_csrf}, follow_redirects=False)
        assert r.status_code == 403, path
        assert "read-only staff view" in r.text, path
    assert client.get("/portal/payment/cards/return?setup=cs_x", follow_redirects=False).status_code == 403
    assert state(env, acc["id"]) == before
    # the customer's own session is untouched by it
    customer = portal_visitor(env, acc["id"])
    assert "Staff view" not in customer.client.get("/portal").text
    r = customer.client.post("/portal/notifications/read", data={"csrf_token": customer.csrf},
                             follow_redirects=False)
    assert r.status_code == 303
    # Indonesian
    assert "Tampilan staf" in client.get("/portal?lang=id").text
    env.assert_books()


def test_roles_decide_who_may_act(env: Env) -> None:
    acc = env.account(locale="en", start_trial=True)
    # a trial: no free time (extend the trial instead), nothing to undo, no invoice to send again
    visible = {"extend-trial", "change-plan", "cancel", "adjust-wallet", "view-portal"}
    forms = {"extend-trial": {"days": "5"}, "change-plan": {"plan": "growth", "interval": "month", "when": "now"},
             "cancel": {}, "undo-cancel": {}, "resend-invoice": {"invoice": "inv_nope"},
             "free-period": {"span": "days", "days": "5"},
             "adjust-wallet": {"wallet": "conversation", "direction": "grant", "amount": "1000"}, "view-portal": {}}
    for role, allowed in ALLOWED.items():
        client, csrf = staff_client(env, role)
        page = client.get(f"/console/accounts/{acc['id']}").text
        links = set(re.findall(rf"/console/accounts/{acc['id']}/actions/([a-z-]+)", page))
        assert links == allowed & visible, role
        before = state(env, acc["id"])
        for action in ACTIONS:
            form = client.get(f"/console/accounts/{acc['id']}/actions/{action}")
            if action in allowed:
                assert form.status_code == 200, (role, action)
                continue
            assert form.status_code == 403, (role, action)
            r = act(client, csrf, acc["id"], action, **forms[action])
            assert r.status_code == 403 and "Your staff role may not do this" in r.text, (role, action)
        assert state(env, acc["id"]) == before, role
    owner, csrf = staff_client(env, "owner")
    before = state(env, acc["id"])
    for action in ACTIONS:  # no CSRF token, a forged one: refused before anything
        for token in ("", "forged"):
            r = act(owner, token, acc["id"], action, **forms[action])
            assert r.status_code == 403, (action, token)
    assert owner.get(f"/console/accounts/{acc['id']}/actions/nothing").status_code == 404
    assert owner.get("/console/accounts/acc_nope/actions/extend-trial").status_code == 404
    assert act(owner, csrf, "acc_nope", "extend-trial", days="5").status_code == 404
    assert state(env, acc["id"]) == before
    support, csrf = staff_client(env, "support")
    done(act(support, csrf, acc["id"], "extend-trial", days="5"), acc["id"], "extend-trial")
    finance, csrf = staff_client(env, "finance")
    done(act(finance, csrf, acc["id"], "adjust-wallet", wallet="broadcast", direction="grant", amount="1000"),
         acc["id"], "adjust-wallet")
    assert [e.actor_label for e in audits(env, acc["id"])] == ["support@example.id", "finance@example.id"]
    env.assert_books()


class _Undo(Exception):
    """Raised at the end of a trial step: its transaction rolls back, nothing of it stays."""


def domain_allows(env: Env, account_id: str, action: str) -> bool:
    """Whether the domain step behind `action` refuses the account as it is now (each try rolled back): the
    console's page must offer exactly the actions this allows."""
    now = env.now()
    tries: list[Callable[[Any, Any], Any]]
    if action == "extend-trial":
        tries = [lambda s, a: subscriptions.extend_trial(s, a, 5, now)]
    elif action == "cancel":
        tries = [lambda s, a: operator.schedule_cancel(s, a, now)]
    elif action == "undo-cancel":
        tries = [lambda s, a: operator.undo_cancel(s, a, now)]
    elif action == "free-period":
        tries = [lambda s, a: operator.give_free_period(s, a, 5, now)]
    elif action == "change-plan":  # some change of plan, interval or time is possible
        tries = [lambda s, a, p=p, i=i, w=w: w(s, env.settings, a, p, i, now)
                 for p in ("free", "starter", "growth", "pro") for i in ("month", "year")
                 for w in (operator.change_now, operator.change_at_period_end)]
    elif action == "resend-invoice":
        with env.db.transaction() as s:
            ids = [i.id for i in resendable(s, account_id)]
        tries = [lambda s, a, i=i: resend.resend_invoice_email(s, a, invoices_repo.get(s, i), wall_now()) for i in ids]
    elif action == "adjust-wallet":
        tries = [lambda s, a: wallets.adjust(s, a.id, "broadcast", 1_000, deduct=False, reference="aud_x", now=now)]
    else:
        return True  # view-portal: read-only, refused to nobody
    for step in tries:
        try:
            with env.db.transaction() as s:
                step(s, accounts_repo.get(s, account_id))
                raise _Undo
        except _Undo:
            return True
        except DomainError:
            continue
    return False


def test_the_page_offers_exactly_the_actions_the_domain_would_not_refuse(env: Env) -> None:
    """Each state an account can be in: the account page's action links (console/applicable.py) are the actions
    whose domain step accepts the state, and the refused ones are refused on POST too."""
    overdue = growth(env)  # its renewal is left unpaid: past due once the period ends
    env.advance(days=32)
    accounts = {"overdue": overdue, "free": env.account(locale="en"), "free_no_billing": env.account(billing=False),
                "trial": env.account(locale="en", start_trial=True), "paid": growth(env)}
    accounts["trial_canceled"] = env.account(locale="en", start_trial=True)
    accounts["paid_canceled"] = growth(env)
    for key in ("trial_canceled", "paid_canceled"):
        env.ok(env.post(f"/v1/accounts/{accounts[key]['id']}/subscription/cancel", {"at_period_end": True}))
    accounts["paid_ahead"] = growth(env)
    env.pay_va(env.ok(env.post(f"/v1/accounts/{accounts['paid_ahead']['id']}/subscription/renew", {}), 201))
    accounts["charging"] = growth(env)
    with env.db.transaction() as s:  # the renewal's card charge in flight (as the due runner leaves it)
        sub = s.scalars(select(Subscription).where(Subscription.account_id == accounts["charging"]["id"])).one()
        sub.renewal_payment_id = "pay_in_flight"
    run_notifications(env.db, env.client.app.state.ctx.courier)  # type: ignore[attr-defined]  # invoice emails
    assert env.subscription(overdue["id"])["status"] == "past_due"
    client, csrf = staff_client(env)
    offered: dict[str, set[str]] = {}
    for name, acc in accounts.items():
        page = client.get(f"/console/accounts/{acc['id']}").text
        offered[name] = set(re.findall(rf"/console/accounts/{acc['id']}/actions/([a-z-]+)", page))
        allowed = {action for action in ACTIONS if domain_allows(env, acc["id"], action)}
        assert offered[name] == allowed, (name, offered[name] ^ allowed)
    assert offered["free"] == {"change-plan", "adjust-wallet", "view-portal"}
    assert offered["free_no_billing"] == {"adjust-wallet", "view-portal"}
    assert offered["trial"] == {"extend-trial", "change-plan", "cancel", "adjust-wallet", "view-portal"}
    assert offered["trial_canceled"] == {"extend-trial", "change-plan", "undo-cancel", "adjust-wallet", "view-portal"}
    assert offered["paid"] == set(ACTIONS) - {"extend-trial", "undo-cancel"}
    assert offered["paid_canceled"] == set(ACTIONS) - {"extend-trial", "cancel"}
    assert "free-period" not in offered["paid_ahead"] | offered["charging"] | offered["overdue"]
    assert "change-plan" not in offered["overdue"]
    # a form reached anyway (an old link) says it does not apply now; posting it is refused (the guard stays)
    for name, action in (("free", "cancel"), ("trial", "free-period"), ("paid", "undo-cancel")):
        form = client.get(f"/console/accounts/{accounts[name]['id']}/actions/{action}").text
        assert 'data-testid="not-applicable"' in form, (name, action)
    assert 'data-testid="not-applicable"' not in client.get(f"/console/accounts/{accounts['paid']['id']}/actions/"
                                                            "cancel").text
    refused(env, client, csrf, accounts["free"]["id"], "cancel", 409, "already on Free")
    refused(env, client, csrf, accounts["free"]["id"], "free-period", 409, "given on a paid plan", span="period")
    refused(env, client, csrf, accounts["paid"]["id"], "undo-cancel", 409, "nothing to undo")
    refused(env, client, csrf, accounts["paid"]["id"], "extend-trial", 409, "Only a subscription in its trial",
            days="5")


def test_verify_explains_free_time_by_its_audit_entry(env: Env) -> None:
    from langganan.verify import violations

    acc = growth(env)
    client, csrf = staff_client(env, "finance")
    done(act(client, csrf, acc["id"], "free-period", span="days", days="7"), acc["id"], "free-period")
    env.assert_books()
    with env.db.transaction() as s:  # the audit entry that explains the free time is gone
        s.delete(s.scalars(select(AuditEntry).where(AuditEntry.account_id == acc["id"],
                                                    AuditEntry.action == "subscription.free_period_given")).one())
    with env.db.transaction() as s:
        found = [(v.code, v.ids.get("subscription_id")) for v in violations(s, env.settings)]
    assert found == [("period_unexplained", env.subscription(acc["id"])["id"])]
