"""Buy Add-Ons and Manage Add-Ons (seed c, d): prorated, active when paid, renewed, stopped at period end."""

from __future__ import annotations

from tests.conftest import Env


def test_buy_add_ons_prorated_then_they_raise_the_limits(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")  # Jan 15 -> Feb 15, 31 days
    env.advance(days=10)  # 21 days left
    invoice = env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons",
                              {"add_on": "additional_user", "quantity": 3}), 201)
    assert invoice["type"] == "add_on"
    assert invoice["total"] == round(50000 * 3 * 21 / 31)  # 101613
    limits = env.ok(env.get(f"/v1/accounts/{acc['id']}/entitlements"))["limits"]
    assert limits["users"]["limit"] == 10  # not before it is paid
    env.pay_va(invoice)
    limits = env.ok(env.get(f"/v1/accounts/{acc['id']}/entitlements"))["limits"]
    assert limits["users"]["limit"] == 13
    items = env.subscription(acc["id"])["add_ons"]
    assert [(i["add_on"], i["quantity"], i["status"]) for i in items] == [("additional_user", 3, "active")]
    env.assert_books()


def test_add_ons_renew_with_the_subscription_and_stop_at_period_end(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    env.pay_va(env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons",
                               {"add_on": "additional_contact", "quantity": 2}), 201))
    renewal = env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {}), 201)
    assert [ln["amount"] for ln in renewal["lines"]] == [499000, 50000]
    env.pay_va(renewal)
    env.advance(to="2026-02-15T10:00:00+07:00")
    item = env.subscription(acc["id"])["add_ons"][0]
    assert item["status"] == "active"

    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"contacts": 26000}))
    refused = env.post(f"/v1/accounts/{acc['id']}/add-ons/{item['id']}/stop")
    assert refused.status_code == 409 and refused.json()["error"]["limits"] == ["contacts"]
    env.ok(env.put(f"/v1/accounts/{acc['id']}/usage-counts", {"contacts": 100}))
    stopping = env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons/{item['id']}/stop"))
    assert stopping["status"] == "stopping"
    assert stopping["ends_at"] == env.subscription(acc["id"])["current_period_end"]
    env.pay_va(env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/renew", {}), 201))
    env.advance(to="2026-03-15T10:00:00+07:00")
    assert env.subscription(acc["id"])["add_ons"] == []


def test_add_ons_need_a_paid_plan_and_end_with_it(env: Env) -> None:
    acc = env.account()
    refused = env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user", "quantity": 1})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "paid_plan_required"
    env.buy(acc["id"], "growth")
    bad = env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "teleporter", "quantity": 1})
    assert bad.status_code == 404
    zero = env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user", "quantity": 0})
    assert zero.status_code == 422
    env.pay_va(env.ok(env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user",
                                                                      "quantity": 1}), 201))
    env.advance(to="2026-02-15T10:00:00+07:00")  # not renewed: past_due through the grace period
    assert env.subscription(acc["id"])["status"] == "past_due"
    assert len(env.subscription(acc["id"])["add_ons"]) == 1
    env.advance(to="2026-02-18T10:00:00+07:00")  # grace over: back to Free, add-ons end with the plan
    assert env.subscription(acc["id"])["plan"] == "free"
    assert env.subscription(acc["id"])["add_ons"] == []


def test_buying_add_ons_needs_billing_information_wherever_it_is_bought(env: Env) -> None:
    """The add-ons service itself refuses a buyer without billing information (409
    billing_info_required), so the API, the portal and any other caller give the same answer."""
    import pytest
    from sqlalchemy import func, select

    from langganan.accounts.models import Account
    from langganan.invoices.models import Invoice
    from langganan.kit.errors import Conflict
    from langganan.subscriptions import addons
    from langganan.subscriptions import repository as subs_repo
    from tests.api.test_portal_security import portal_visitor

    acc = env.account(locale="en")
    env.buy(acc["id"], "growth")
    with env.db.transaction() as s:
        account = s.get(Account, acc["id"])
        assert account is not None
        account.phone = None  # billing information no longer complete
        invoices = s.scalar(select(func.count()).select_from(Invoice))
    api = env.post(f"/v1/accounts/{acc['id']}/add-ons", {"add_on": "additional_user", "quantity": 1})
    assert api.status_code == 409 and api.json()["error"]["code"] == "billing_info_required"
    v = portal_visitor(env, acc["id"])
    page = v.client.post("/portal/add-ons", data={"add_on": "additional_user", "quantity": "1", "csrf_token": v.csrf})
    assert page.status_code == 409 and "Complete your Billing Information" in page.text
    ctx, now = env.client.app.state.ctx, env.now()
    with env.db.transaction() as s:
        account = s.get(Account, acc["id"])
        assert account is not None
        sub = subs_repo.for_account(s, acc["id"])
        with pytest.raises(Conflict) as refused:
            addons.buy(s, ctx.settings, account, sub, "additional_user", 1, now)
        assert refused.value.code == "billing_info_required"
    with env.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == invoices
