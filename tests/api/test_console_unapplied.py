"""The console's held-money page: each held amount with its reason, and apply / credit / refund forms that go
through the same service as the API (a reason required, CSRF checked, the books balanced after)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from tests.api.test_portal_security import CSRF_RE, _console_login
from tests.api.test_unapplied_money import _held, _overpaid
from tests.conftest import Env


def _ops(env: Env) -> tuple[TestClient, str]:
    with env.db.transaction() as s:
        staff.create_staff(s, "ops@example.id", "Ops", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, "ops@example.id", "correct horse battery").status_code == 303
    page = client.get("/console/unapplied")
    assert page.status_code == 200
    return client, CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]


def test_held_money_listed_and_resolved_from_the_console(env: Env) -> None:
    acc, held = _overpaid(env, 60_000)
    _acc2, other = _overpaid(env, 20_000)
    client, csrf = _ops(env)
    page = client.get("/console/unapplied").text
    assert "Paid too much" in page and "Rp60,000" in page and held["id"] in page
    assert "Kelebihan bayar" in client.get("/console/unapplied?lang=id").text
    no_reason = client.post(f"/console/unapplied/{held['id']}/credit", data={"csrf_token": csrf,
                                                                           "wallet": "conversation", "reason": ""})
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    forged = client.post(f"/console/unapplied/{held['id']}/credit", data={"wallet": "conversation",
                                                                        "reason": "no token"})
    assert forged.status_code == 403
    before = env.wallet(acc["id"])["balance"]
    done = client.post(f"/console/unapplied/{held['id']}/credit",
                       data={"csrf_token": csrf, "wallet": "conversation", "reason": "customer keeps it as credit"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert env.wallet(acc["id"])["balance"] == before + 60_000
    refunded = client.post(f"/console/unapplied/{other['id']}/refund",
                           data={"csrf_token": csrf, "method": "manual", "reference": "BCA-7731",
                                 "reason": "sent back by transfer"}, follow_redirects=False)
    assert refunded.status_code == 303
    statuses = {u["id"]: (u["status"], u["resolved_by"]) for u in _held(env)}
    assert statuses[held["id"]] == ("credited", "staff:ops@example.id")
    assert statuses[other["id"]] == ("refunded", "staff:ops@example.id")
    listed = client.get("/console/unapplied?status=all").text
    assert re.search(r"BCA-7731", listed) and "customer keeps it as credit" in listed
    env.assert_books()
