"""Signing staff users of each role in to the console (with the session's CSRF token), for the tests of the
console's operator pages."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from tests.api.test_portal_security import CSRF_RE, _console_login
from tests.conftest import Env

PASSWORD = "correct horse battery"


@dataclass
class Staff:
    client: TestClient
    csrf: str
    email: str
    id: str

    def post(self, path: str, data: dict[str, str] | None = None, **kw: object) -> object:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, **kw)  # type: ignore[arg-type]


def signed_in(env: Env, role: str = "owner", email: str | None = None) -> Staff:
    email = email or f"{role.replace('_', '-')}@example.id"
    with env.db.transaction() as s:
        user = staff.create_staff(s, email, role.title(), PASSWORD, wall_now(), role=role)
        user_id = user.id
    client = TestClient(env.client.app)
    assert _console_login(env, client, email, PASSWORD).status_code == 303
    page = client.get("/console")
    assert page.status_code == 200
    return Staff(client, CSRF_RE.search(page.text).group(1), email, user_id)  # type: ignore[union-attr]
