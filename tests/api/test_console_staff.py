"""The console's staff page (owners), on SQLite and PostgreSQL: add a staff user with a role (a first password shown
once), change a role, disable (signed out at once) and enable, each in the audit log; the last active owner keeps
the owner role; bad input is refused clearly and changes nothing."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from langganan.audit.models import AuditEntry
from langganan.console.models import StaffUser
from tests.api.console_staff import signed_in
from tests.api.test_portal_security import _console_login
from tests.conftest import Env

PASSWORD_RE = re.compile(r'data-testid="staff-password">([^<]+)<')


def staff(env: Env) -> dict[str, tuple[str, str, bool]]:
    with env.db.transaction() as s:
        return {u.email: (u.id, u.role.value, u.disabled_at is not None) for u in s.scalars(select(StaffUser))}


def actions(env: Env) -> list[tuple[str, str, Any, Any]]:
    with env.db.transaction() as s:
        return [(e.action, e.actor_label, e.before, e.after)
                for e in s.scalars(select(AuditEntry).where(AuditEntry.action.startswith("staff."))
                                   .order_by(AuditEntry.at, AuditEntry.id))]


def test_an_owner_adds_changes_disables_and_enables_staff(env: Env) -> None:
    owner = signed_in(env)
    page = owner.post("/console/staff", {"email": "Rina@Example.id", "name": "Rina", "role": "finance"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    password = PASSWORD_RE.search(page.text).group(1)  # type: ignore[attr-defined,union-attr]
    assert "rina@example.id added as finance" in page.text  # type: ignore[attr-defined]
    listing = owner.client.get("/console/staff").text
    assert password not in listing and "rina@example.id" in listing
    rina_id = staff(env)["rina@example.id"][0]
    rina = TestClient(env.client.app)
    assert _console_login(env, rina, "rina@example.id", password).status_code == 303
    assert rina.get("/console/exports").status_code == 200  # finance
    assert rina.get("/console/staff").status_code == 403
    changed = owner.post(f"/console/staff/{rina_id}/role", {"role": "support"}, follow_redirects=False)
    assert changed.status_code == 303  # type: ignore[attr-defined]
    assert rina.get("/console/exports").status_code == 403  # the new role holds from the next page on
    disabled = owner.post(f"/console/staff/{rina_id}/disable", follow_redirects=False)
    assert disabled.status_code == 303  # type: ignore[attr-defined]
    gone = rina.get("/console", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/console/login"
    assert _console_login(env, rina, "rina@example.id", password).status_code == 401
    assert staff(env)["rina@example.id"] == (rina_id, "support", True)
    enabled = owner.post(f"/console/staff/{rina_id}/enable", follow_redirects=False)
    assert enabled.status_code == 303  # type: ignore[attr-defined]
    assert _console_login(env, rina, "rina@example.id", password).status_code == 303
    assert actions(env) == [
        ("staff.created", "owner@example.id", None, {"email": "rina@example.id", "role": "finance",
                                                     "disabled_at": None}),
        ("staff.role_changed", "owner@example.id", {"email": "rina@example.id", "role": "finance",
                                                    "disabled_at": None},
         {"email": "rina@example.id", "role": "support", "disabled_at": None}),
        ("staff.disabled", "owner@example.id", {"email": "rina@example.id", "role": "support", "disabled_at": None},
         actions(env)[2][3]),
        ("staff.enabled", "owner@example.id", actions(env)[3][2],
         {"email": "rina@example.id", "role": "support", "disabled_at": None})]
    assert actions(env)[2][3]["disabled_at"] is not None
    assert "Staf" in owner.client.get("/console/staff?lang=id").text


def test_the_last_owner_keeps_the_owner_role(env: Env) -> None:
    owner = signed_in(env)
    me = staff(env)["owner@example.id"][0]
    for path, form in ((f"/console/staff/{me}/role", {"role": "finance"}), (f"/console/staff/{me}/disable", {})):
        refused = owner.post(path, form)
        assert refused.status_code == 409, path  # type: ignore[attr-defined]
        assert "This is the last owner" in refused.text  # type: ignore[attr-defined]
    assert staff(env)["owner@example.id"] == (me, "owner", False) and actions(env) == []
    # a disabled owner does not count: with a second owner disabled, the first is still the last
    second = signed_in(env, "owner", "second@example.id")
    assert owner.post(f"/console/staff/{second.id}/disable", follow_redirects=False).status_code == 303  # type: ignore[attr-defined]
    assert owner.post(f"/console/staff/{me}/role", {"role": "finance"}).status_code == 409  # type: ignore[attr-defined]
    # with two active owners one may step down
    assert owner.post(f"/console/staff/{second.id}/enable", follow_redirects=False).status_code == 303  # type: ignore[attr-defined]
    stepped = owner.post(f"/console/staff/{me}/role", {"role": "read_only"}, follow_redirects=False)
    assert stepped.status_code == 303  # type: ignore[attr-defined]
    assert owner.client.get("/console/staff").status_code == 403  # no longer an owner
    assert staff(env)["owner@example.id"][1] == "read_only"


def test_bad_staff_input_is_refused_clearly_and_changes_nothing(env: Env) -> None:
    owner = signed_in(env)
    before = staff(env)
    for form, status, text in (({"email": "new@example.id", "role": "emperor"}, 422, "Choose one of the roles"),
                               ({"email": "not an email", "role": "finance"}, 422, "Enter a valid email"),
                               ({"email": "", "role": "finance"}, 422, "Enter a valid email"),
                               ({"email": "new@example.id", "name": "n" * 201, "role": "finance"}, 422, "at most 200"),
                               ({"email": "OWNER@example.id", "role": "finance"}, 409, "with this email exists")):
        page = owner.post("/console/staff", form)
        assert page.status_code == status and text in page.text, form  # type: ignore[attr-defined]
        assert "staff-password" not in page.text  # type: ignore[attr-defined]
    me = before["owner@example.id"][0]
    bad_role = owner.post(f"/console/staff/{me}/role", {"role": "emperor"})
    assert bad_role.status_code == 422 and "Choose one of the roles" in bad_role.text  # type: ignore[attr-defined]
    assert owner.post("/console/staff/stf_nope/disable").status_code == 404  # type: ignore[attr-defined]
    assert owner.post("/console/staff/stf_nope/role", {"role": "finance"}).status_code == 404  # type: ignore[attr-defined]
    assert staff(env) == before and actions(env) == []
