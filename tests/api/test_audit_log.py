"""The audit log, on SQLite and PostgreSQL: a console action and an API call that change money or plans each write
one entry in their unit of work (who, what, target, account, reason, the fields before and after), a refused one
writes none, usage events write none; the console page filters and pages them, the API lists them, and the CSV
export holds them (its before/after as JSON)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import func, select

from langganan.audit.models import AuditEntry
from langganan.exports.tables import AUDIT_COLUMNS
from tests.api.console_staff import signed_in
from tests.api.test_unapplied_money import _overpaid
from tests.conftest import Env


def entries(env: Env, **where: Any) -> list[AuditEntry]:
    with env.db.transaction() as s:
        query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        rows = list(s.scalars(query))
        s.expunge_all()
        return rows


def count(env: Env) -> int:
    with env.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_console_actions_write_one_entry_each_with_who_why_and_what_changed(env: Env) -> None:
    acc, held = _overpaid(env, 60_000)
    unpaid = env.ok(env.post(f"/v1/accounts/{acc['id']}/top-ups", {"wallet": "broadcast", "amount": 100_000,
                                                                     "payment_method": "bank_transfer"}), 201)
    finance = signed_in(env, "finance")
    start = count(env)
    refused = finance.post(f"/console/unapplied/{held['id']}/credit", {"wallet": "conversation", "reason": ""})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert count(env) == start  # nothing done, nothing written
    done = finance.post(f"/console/invoices/{unpaid['id']}/mark-paid", {"reference": "BCA-0042",
                                                                      "note": "seen on the statement"},
                        follow_redirects=False)
    assert done.status_code == 303  # type: ignore[attr-defined]
    credited = finance.post(f"/console/unapplied/{held['id']}/credit",
                            {"wallet": "conversation", "reason": "the customer keeps it as credit"},
                            follow_redirects=False)
    assert credited.status_code == 303  # type: ignore[attr-defined]
    assert count(env) == start + 2
    [paid] = entries(env, action="invoice.marked_paid")
    assert (paid.actor_kind, paid.actor_id, paid.actor_label) == ("staff", finance.id, "finance@example.id")
    assert (paid.target_type, paid.target_id, paid.account_id) == ("invoice", unpaid["id"], acc["id"])
    assert paid.reason is not None and "seen on the statement" in paid.reason
    assert paid.before == {"status": "unpaid"}
    assert paid.after is not None and paid.after["status"] == "paid" and paid.after["reference"] == "BCA-0042"
    [credit] = entries(env, action="unapplied.credited")
    assert (credit.actor_label, credit.target_id, credit.reason) == ("finance@example.id", held["id"],
                                                                     "the customer keeps it as credit")
    assert credit.before is not None and credit.after is not None
    assert (credit.before["status"], credit.after["status"]) == ("open", "credited")
    assert credit.after["wallet_balance"] - credit.before["wallet_balance"] == 60_000
    # the page: who, what, why, before -> after
    page = finance.client.get("/console/audit").text
    row = page[page.index(f'data-entry="{paid.id}"'):].split("</tr>")[0]
    assert "finance@example.id" in row and "invoice.marked_paid" in row and "seen on the statement" in row
    assert "<strong>status</strong>: unpaid → paid" in row
    assert "Log audit" in finance.client.get("/console/audit?lang=id").text


def test_api_calls_that_change_plans_or_money_write_entries_and_usage_writes_none(env: Env) -> None:
    acc = env.account()
    start = count(env)
    refused = env.post(f"/v1/accounts/{acc['id']}/subscription/cancel", {"at_period_end": True})
    assert refused.status_code == 409  # already on Free: nothing done
    env.ok(env.post("/v1/usage", {"id": "u1", "account_id": acc["id"], "meter": "conversation_reply"}), 201)
    env.ok(env.post("/v1/usage/batch", {"events": [{"id": "u2", "account_id": acc["id"],
                                                    "meter": "conversation_reply"}]}))
    assert count(env) == start
    invoice = env.buy(acc["id"], "growth")
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/cancel", {"at_period_end": True}))
    [change] = entries(env, action="subscription.plan_changed")
    assert (change.actor_kind, change.actor_label, change.account_id) == ("api_key", "bootstrap", acc["id"])
    assert change.after is not None and change.after["requested_plan"] == "growth"
    assert change.after["invoice_id"] == invoice["id"]
    [cancel] = entries(env, action="subscription.canceled")
    assert cancel.before == {"cancel_at_period_end": False}
    assert cancel.after == {"cancel_at_period_end": True, "at_period_end": True}
    # the API's list: filters and pages
    listed = env.ok(env.get(f"/v1/audit-log?account_id={acc['id']}&action=subscription.&limit=1"))
    assert listed["has_more"] and listed["data"][0]["action"] == "subscription.canceled"
    assert listed["data"][0]["actor"] == {"kind": "api_key", "id": cancel.actor_id, "label": "bootstrap"}
    older = env.ok(env.get(f"/v1/audit-log?account_id={acc['id']}&action=subscription.&limit=1"
                           f"&starting_after={listed['data'][0]['id']}"))
    assert [e["action"] for e in older["data"]] == ["subscription.plan_changed"] and not older["has_more"]
    assert env.ok(env.get("/v1/audit-log?actor=nobody"))["data"] == []
    assert env.get("/v1/audit-log?since=yesterday").status_code == 422


def test_the_audit_page_filters_by_account_actor_action_and_days(env: Env) -> None:
    a, b = env.account(), env.account()
    env.buy(a["id"], "growth")
    env.buy(b["id"], "pro")
    owner = signed_in(env)
    owner.post("/console/api-keys", {"name": "ops-script", "role": "admin"})
    now = env.now().astimezone().date()  # (the seller's zone is Jakarta; these dates are wide enough either way)

    def shown(query: str) -> set[str]:
        page = owner.client.get(f"/console/audit?{query}")
        assert page.status_code == 200, page.text
        return {part.split('"')[0] for part in page.text.split('data-entry="')[1:]}

    by_id = {e.id: e for e in entries(env)}
    everything = shown("")
    assert everything == set(by_id)
    assert {by_id[i].account_id for i in shown(f"account_id={a['id']}")} == {a["id"]}
    assert {by_id[i].actor_label for i in shown("actor=owner@example.id")} == {"owner@example.id"}
    assert {by_id[i].action for i in shown("action=api_key.")} == {"api_key.created"}
    assert shown(f"since={now.replace(year=now.year - 2)}&until={now.replace(year=now.year - 1)}") == set()
    wide = f"since={now.replace(year=now.year - 1)}&until={now.replace(year=now.year + 1)}"
    assert shown(wide) == everything
    bad = owner.client.get("/console/audit?since=15/01/2026")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    backwards = owner.client.get(f"/console/audit?since={now}&until={now.replace(year=now.year - 1)}")
    assert backwards.status_code == 422 and "on or after" in backwards.text


def test_the_audit_log_is_exported_as_csv(env: Env) -> None:
    acc, held = _overpaid(env, 25_000)
    env.ok(env.post(f"/v1/unapplied-payments/{held['id']}/credit-wallet",
                    {"wallet": "conversation", "reason": "keep as credit"}))
    answer = env.get("/v1/exports/audit.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert tuple(rows[0].keys()) == AUDIT_COLUMNS
    assert len(rows) == len(entries(env))
    [credited] = [r for r in rows if r["action"] == "unapplied.credited"]
    assert (credited["actor_kind"], credited["actor_label"], credited["account_id"], credited["reason"]) == \
        ("api_key", "bootstrap", acc["id"], "keep as credit")
    assert json.loads(credited["before"])["status"] == "open"
    assert json.loads(credited["after"])["status"] == "credited"
    finance = signed_in(env, "finance")
    assert "Audit log" in finance.client.get("/console/exports").text
    download = finance.client.get("/console/exports/audit.csv")
    assert download.status_code == 200
    assert [r["id"] for r in csv.DictReader(io.StringIO(download.text))] == [r["id"] for r in rows]
    empty = env.get("/v1/exports/audit.csv?since=2020-01-01&until=2020-01-02")
    assert list(csv.reader(io.StringIO(empty.text))) == [list(AUDIT_COLUMNS)]


def test_every_api_call_that_changes_money_or_plans_names_its_action(env: Env) -> None:
    from tests.api.test_bank_statements import bca, upload
    from tests.api.test_legacy_import import GOOD, HEADER, post_csv

    seen = {e.id for e in entries(env)}

    def logged(action: str, response: Any, status: int = 200) -> dict[str, Any]:
        """The call succeeded and wrote exactly one entry, `action`, by the admin key."""
        assert response.status_code == status, (action, response.text)
        new = [e for e in entries(env) if e.id not in seen]
        seen.update(e.id for e in new)
        assert [(e.action, e.actor_kind, e.actor_label) for e in new] == [(action, "api_key", "bootstrap")]
        return dict(response.json()) if response.headers["content-type"].startswith("application/json") else {}

    acc = env.account()["id"]
    card = env.card(acc)
    change = logged("subscription.plan_changed", env.post(f"/v1/accounts/{acc}/subscription/change",
                                                           {"plan": "growth", "payment_method": "bank_transfer"}))
    env.pay_va(change["invoice"])
    seen.update(e.id for e in entries(env))
    logged("subscription.auto_renew_changed", env.post(f"/v1/accounts/{acc}/subscription/auto-renew",
                                                       {"enabled": True, "payment_method_id": card}))
    add_on = logged("add_on.purchased", env.post(f"/v1/accounts/{acc}/add-ons", {"add_on": "additional_user",
                                                                                  "quantity": 1}), 201)
    env.pay_va(add_on)
    item = env.ok(env.get(f"/v1/accounts/{acc}/add-ons"))["data"][0]["id"]
    logged("add_on.stopped", env.post(f"/v1/accounts/{acc}/add-ons/{item}/stop"))
    top_up = {"wallet": "conversation", "amount": 100_000, "payment_method": "bank_transfer"}
    first = logged("wallet.top_up_invoiced", env.post(f"/v1/accounts/{acc}/top-ups", top_up), 201)
    logged("invoice.canceled", env.post(f"/v1/invoices/{first['id']}/cancel"))
    second = logged("wallet.top_up_invoiced", env.post(f"/v1/accounts/{acc}/top-ups", top_up), 201)
    logged("invoice.marked_paid", env.post(f"/v1/invoices/{second['id']}/mark-paid", {"reference": "BCA-1"}))
    logged("credit_note.issued", env.post(f"/v1/invoices/{second['id']}/credit-notes",
                                          {"amount": 11_100, "reason": "asked back", "refund_to": "manual",
                                           "reference": "BCA-2"}), 201)
    third = logged("wallet.top_up_invoiced", env.post(f"/v1/accounts/{acc}/top-ups", top_up), 201)
    logged("invoice.payment_started", env.post(f"/v1/invoices/{third['id']}/pay",
                                               {"payment_method": "card", "payment_method_id": card}))
    logged("subscription.renewal_invoiced", env.post(f"/v1/accounts/{acc}/subscription/renew",
                                                     {"payment_method": "bank_transfer"}), 201)
    logged("auto_top_up.updated", env.put(f"/v1/accounts/{acc}/wallets/conversation/auto-top-up",
                                          {"enabled": True, "threshold": 20_000, "target": 100_000}))
    logged("promotion.created", env.post("/v1/promotions", {"code": "AUDIT10", "percent_off": 10,
                                                            "plans": ["starter"], "duration_months": 1}), 201)
    trial = env.account(start_trial=True)["id"]
    logged("promotion.redeemed", env.post(f"/v1/accounts/{trial}/promotions", {"code": "AUDIT10"}), 201)
    logged("subscription.trial_extended", env.post(f"/v1/accounts/{trial}/subscription/extend-trial", {"days": 7}))
    logged("subscription.canceled", env.post(f"/v1/accounts/{acc}/subscription/cancel", {"at_period_end": True}))
    hook = logged("webhook_endpoint.created", env.post("/v1/webhook-endpoints",
                                                       {"url": "https://hooks.example.id/a", "events": ["*"]}), 201)
    logged("webhook_endpoint.disabled", env.client.delete(f"/v1/webhook-endpoints/{hook['id']}", headers=env.headers))
    open_invoice = env.ok(env.post(f"/v1/accounts/{trial}/top-ups", top_up), 201)
    seen.update(e.id for e in entries(env))
    statement = logged("bank_statement.imported",
                       upload(env, bca(("10/01", "SETORAN TUNAI", 40_000, "CR", 1_040_000))), 201)
    logged("bank_statement.line_assigned", env.post(f"/v1/bank-statements/{statement['id']}/lines/"
                                                    f"{statement['lines'][0]['line']}/assign",
                                                    {"invoice_id": open_invoice["id"]}))
    _acc, held = _overpaid(env, 30_000)
    seen.update(e.id for e in entries(env))
    logged("unapplied.refunded", env.post(f"/v1/unapplied-payments/{held['id']}/refund",
                                          {"reason": "sent back", "method": "manual", "reference": "BCA-3"}))
    logged("account.migrated", post_csv(env, HEADER + GOOD.splitlines(keepends=True)[0]))
    key = logged("api_key.created", env.post("/v1/api-keys", {"name": "audit", "role": "integration"}), 201)
    logged("api_key.rotated", env.post(f"/v1/api-keys/{key['id']}/rotate", {"overlap_seconds": 60}), 201)
    logged("api_key.revoked", env.client.delete(f"/v1/api-keys/{key['id']}", headers=env.headers))
    logged("clock.advanced", env.post("/v1/sandbox/clock/advance", {"hours": 1}))
