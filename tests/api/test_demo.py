"""`serve --demo`'s data: demo accounts, an admin key and a console sign-in that works (a fresh password on each
start: only its hash is kept)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from langganan.demo import load_demo
from tests.api.test_portal_security import _console_login
from tests.conftest import Env


def test_the_demo_prints_a_console_sign_in_that_works(env: Env) -> None:
    first = load_demo(env.settings, env.db)
    again = load_demo(env.settings, env.db)
    assert first["staff_email"] == again["staff_email"] == "demo@langganan.example"
    assert first["staff_password"] != again["staff_password"]
    assert len(again["accounts"]) == len(first["accounts"]) >= 3  # the accounts are made once
    client = TestClient(env.client.app)
    assert _console_login(env, client, again["staff_email"], first["staff_password"]).status_code != 303
    assert _console_login(env, client, again["staff_email"], again["staff_password"]).status_code == 303
    assert client.get("/console").status_code == 200
    api = env.client.get("/v1/plans", headers={"Authorization": f"Bearer {again['api_key']}"})
    assert api.status_code == 200
