"""API keys in the console and over the API, on SQLite and PostgreSQL: a new key's token is shown once (the list
never holds it, nor the idempotency record), a revoked key is refused on the very next request in every process
(the gate, the usage fast lane, a batch, an idempotent request), a rotated key works until its overlap ends and
its replacement at once, `last_used_at` is written at most once a minute, and each change is in the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from langganan.apikeys import service as apikeys
from langganan.apikeys.models import ApiKey
from langganan.app import create_app, open_database
from langganan.audit.models import AuditEntry
from langganan.kit.clock import wall_now
from langganan.kit.errors import Unauthorized
from langganan.kit.models import IdempotencyRecord
from tests.api.console_staff import signed_in
from tests.api.test_body_limits import send
from tests.conftest import Env

TOKEN_RE = re.compile(r'data-testid="api-key-token">(lgn_[A-Za-z0-9_-]+)<')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def keys(env: Env) -> int:
    with env.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(ApiKey)) or 0)


def audit_of(env: Env, action: str) -> list[AuditEntry]:
    with env.db.transaction() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.at)))
        s.expunge_all()
        return rows


def uses(env: Env, token: str, account_id: str, n: int, client: TestClient | None = None) -> list[int]:
    """The status of each kind of request made with `token`: an API read (through the gate), a single usage
    event (the fast lane), a batch, and an event with an Idempotency-Key (the route)."""
    http = client or env.client
    event = {"account_id": account_id, "meter": "conversation_reply"}
    return [http.get(f"/v1/accounts/{account_id}", headers=bearer(token)).status_code,
            http.post("/v1/usage", json={"id": f"e{n}", **event}, headers=bearer(token)).status_code,
            http.post("/v1/usage/batch", json={"events": [{"id": f"b{n}", **event}]},
                      headers=bearer(token)).status_code,
            http.post("/v1/usage", json={"id": f"i{n}", **event},
                      headers={**bearer(token), "Idempotency-Key": f"k{n}"}).status_code]


def test_a_key_made_in_the_console_is_shown_once_and_refused_everywhere_the_request_after_its_revocation(
        env: Env) -> None:
    owner = signed_in(env)
    acc = env.account()["id"]
    page = owner.post("/console/api-keys", {"name": "crm-production", "role": "integration"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    token = TOKEN_RE.search(page.text).group(1)  # type: ignore[union-attr]
    assert "shown only once" in page.text
    # a second process (another app on the same database) sees the key as the first does
    other_db = open_database(env.db.url, env.settings)
    with TestClient(create_app(env.settings, other_db)) as other:
        assert uses(env, token, acc, 1) == [200, 201, 200, 201]
        assert uses(env, token, acc, 2, other) == [200, 201, 200, 201]
        listing = owner.client.get("/console/api-keys").text
        assert token not in listing and token[:8] in listing and "crm-production" in listing
        assert token not in env.get("/v1/api-keys").text
        [key] = [k for k in env.ok(env.get("/v1/api-keys"))["data"] if k["name"] == "crm-production"]
        assert key["role"] == "integration" and key["last_used_at"] is not None and key["revoked_at"] is None

        revoked = owner.post(f"/console/api-keys/{key['id']}/revoke", follow_redirects=False)
        assert revoked.status_code == 303
        for client in (env.client, other):
            for status in uses(env, token, acc, 3, client):
                assert status == 401
        refused = other.post("/v1/usage", json={"id": "late", "account_id": acc, "meter": "conversation_reply"},
                             headers=bearer(token))
        assert refused.json()["error"]["code"] == "invalid_api_key"
        for client in (env.client, other):  # once refused, the key is refused before a body is read, as any unknown
            for path in ("/v1/usage", "/v1/usage/batch"):
                early = send(client, path, {**bearer(token), "content-type": "application/json"}, size=1000,
                             announce=True)
                assert early.status == 401 and early.messages_read == 0, path
    other_db.dispose()
    assert env.wallet(acc)["balance"] == 15000 - 6 * 30  # nothing the revoked key sent was kept
    assert "revoked" in owner.client.get("/console/api-keys").text
    [created] = audit_of(env, "api_key.created")
    [gone] = audit_of(env, "api_key.revoked")
    for entry in (created, gone):
        assert (entry.actor_kind, entry.actor_label, entry.target_id) == ("staff", owner.email, key["id"])
    assert created.after is not None and created.after["name"] == "crm-production"
    assert gone.before is not None and gone.after is not None
    assert gone.before["revoked_at"] is None and gone.after["revoked_at"] is not None
    assert token not in str(created.after)
    # revoking again changes nothing
    again = owner.post(f"/console/api-keys/{key['id']}/revoke", follow_redirects=False)
    assert again.status_code == 303 and len(audit_of(env, "api_key.revoked")) == 1


def test_a_rotated_key_works_until_its_overlap_ends_and_its_replacement_at_once(env: Env) -> None:
    acc = env.account()["id"]
    made = env.ok(env.post("/v1/api-keys", {"name": "billing-sync", "role": "admin"}), 201)
    old = made["key"]
    rotated = env.ok(env.post(f"/v1/api-keys/{made['id']}/rotate", {"overlap_seconds": 3600}), 201)
    new = rotated["key"]
    assert (rotated["name"], rotated["role"]) == ("billing-sync", "admin") and new != old
    before = env.ok(env.get(f"/v1/api-keys/{made['id']}"))
    assert before["replaced_by"] == rotated["id"] and before["revoked_at"] is None
    assert before["expires_at"] is not None
    assert uses(env, old, acc, 1) == [200, 201, 200, 201]  # inside the hour
    assert uses(env, new, acc, 2) == [200, 201, 200, 201]
    with env.db.transaction() as s:  # after its window (the service judges the same row at a later time)
        row = s.get(ApiKey, made["id"])
        assert row is not None and row.expires_at is not None
        assert apikeys.usable(row, row.expires_at - timedelta(seconds=1))
        assert not apikeys.usable(row, row.expires_at)
        with pytest.raises(Unauthorized):
            apikeys.authenticate(s, f"Bearer {old}", row.expires_at + timedelta(minutes=1))
        # the hour passes
        s.execute(update(ApiKey).where(ApiKey.id == made["id"]).values(expires_at=wall_now() - timedelta(seconds=1)))
    assert uses(env, old, acc, 3) == [401, 401, 401, 401]
    assert uses(env, new, acc, 4) == [200, 201, 200, 201]
    # a rotated key is not rotated again, an expired one neither; a rotation with no overlap stops the old key now
    twice = env.post(f"/v1/api-keys/{made['id']}/rotate", {"overlap_seconds": 60})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "api_key_not_usable"
    owner = signed_in(env)
    page = owner.post(f"/console/api-keys/{rotated['id']}/rotate", {"overlap": "0"})
    assert page.status_code == 200
    newest = TOKEN_RE.search(page.text).group(1)  # type: ignore[union-attr]
    assert "billing-sync rotated" in page.text
    assert uses(env, new, acc, 5) == [401, 401, 401, 401]
    assert uses(env, newest, acc, 6) == [200, 201, 200, 201]
    rotations = audit_of(env, "api_key.rotated")
    assert [(e.actor_kind, e.target_id) for e in rotations] == [("api_key", made["id"]), ("staff", rotated["id"])]
    assert rotations[0].actor_label == "bootstrap" and rotations[0].after is not None
    assert rotations[0].after["replaced_by"] == rotated["id"] and rotations[0].after["expires_at"] is not None
    bad = owner.post(f"/console/api-keys/{rotated['id']}/rotate", {"overlap": "99"})
    assert bad.status_code == 422 and "Choose how long" in bad.text  # type: ignore[attr-defined]
    assert owner.post("/console/api-keys/key_nope/revoke").status_code == 404  # type: ignore[attr-defined]


def test_the_use_of_a_key_is_noted_at_most_once_a_minute(env: Env) -> None:
    with env.db.transaction() as s:
        key, token = apikeys.create(s, role="integration", name="noted", now=wall_now())
        key_id = key.id
    start = wall_now()

    def seen_at(at: Any) -> Any:
        with env.db.statements() as s:
            principal, due = apikeys.authenticate(s, f"Bearer {token}", at)
            if due:
                apikeys.note_use(s, principal.key_id, at)
        with env.db.transaction() as s:
            row = s.get(ApiKey, key_id)
            assert row is not None
            return row.last_used_at

    assert seen_at(start) == start
    assert seen_at(start + timedelta(seconds=30)) == start  # within the minute: no write
    assert seen_at(start + timedelta(seconds=61)) == start + timedelta(seconds=61)
    digest = apikeys.hash_token(token)
    with env.db.statements() as s:  # a usage group's keys, checked together, by the same rule
        assert apikeys.live_among(s, {digest, "0" * 64}, start + timedelta(seconds=90)) == ({digest}, [])
        assert apikeys.live_among(s, {digest}, start + timedelta(seconds=122)) == ({digest}, [key_id])


def test_bad_key_requests_are_refused_clearly_and_change_nothing(env: Env) -> None:
    owner = signed_in(env)
    before = keys(env)
    for form, text in (({"name": "  ", "role": "admin"}, "Give a name"),
                       ({"name": "x", "role": "owner"}, "Choose one of the roles"),
                       ({"name": "n" * 201, "role": "admin"}, "at most 200")):
        page = owner.post("/console/api-keys", form)
        assert page.status_code == 422 and text in page.text and 'aria-invalid="true"' in page.text, form
        assert "api-key-token" not in page.text
    for body, code in (({"name": " ", "role": "admin"}, "invalid_name"), ({"name": "x", "role": "owner"}, None),
                       ({"name": "x"}, None), ({"name": "x", "role": "admin", "extra": 1}, None)):
        refused = env.post("/v1/api-keys", body)
        assert refused.status_code == 422, body
        assert code is None or refused.json()["error"]["code"] == code
    assert env.post("/v1/api-keys/key_nope/rotate", {"overlap_seconds": 0}).status_code == 404
    assert env.post("/v1/api-keys/key_nope/rotate", {"overlap_seconds": -1}).status_code == 422
    assert env.client.delete("/v1/api-keys/key_nope", headers=env.headers).status_code == 404
    with env.db.transaction() as s:
        _key, integration = apikeys.create(s, role="integration", name="saas", now=wall_now())
    assert keys(env) == before + 1
    for method, path in (("get", "/v1/api-keys"), ("post", "/v1/api-keys"), ("delete", "/v1/api-keys/key_x")):
        answer = getattr(env.client, method)(path, headers=bearer(integration),
                                             **({"json": {"name": "x", "role": "admin"}} if method == "post" else {}))
        assert answer.status_code == 403, (method, path)
    # the only place a token appears is the answer that made it: an idempotent repeat does not replay it
    headers = {**env.headers, "Idempotency-Key": "make-key-1"}
    first = env.post("/v1/api-keys", {"name": "once", "role": "integration"}, headers=headers)
    assert first.status_code == 201 and first.headers["cache-control"] == "no-store"
    repeat = env.post("/v1/api-keys", {"name": "once", "role": "integration"}, headers=headers)
    assert repeat.status_code == 409 and repeat.json()["error"]["code"] == "idempotent_answer_withheld"
    assert keys(env) == before + 2
    with env.db.transaction() as s:
        stored = [r.response_body or "" for r in s.scalars(select(IdempotencyRecord))]
    assert stored and not any(first.json()["key"] in body for body in stored)
    assert not any(first.json()["key"] in repr(e.after) for e in audit_of(env, "api_key.created"))
    assert "Pilih salah satu peran" in owner.client.post("/console/api-keys?lang=id", data={
        "name": "x", "role": "owner", "csrf_token": owner.csrf}).text
