"""Real `langganan serve` processes as an operator runs them (issue 17, "Observe"):

- with LANGGANAN_LOG_FORMAT=json every line on standard error is one JSON object; each request has an
  access line naming its route template, status and duration, its request id (the client's X-Request-Id
  or a new one, echoed in the answer) and, for an account's routes and usage, the account; lines written
  while a request is handled carry its id; and a run that uses API keys, a staff password, a card number,
  a webhook secret, a portal link and the gateway secret writes none of them;
- `serve --demo` writes text for a person;
- with PROMETHEUS_MULTIPROC_DIR, a scrape of any one of two `serve` processes counts the requests both
  answered and the due runs of a `worker` that has already exited."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_portal_security import CSRF_RE
from tests.conftest import ADMIN_KEY, BILLING
from tests.integration.test_served import CLI, _start, _stop, _wait_for, free_port

STAFF_PASSWORD = "observe-staff-passphrase-42"
GATEWAY_SECRET = "observe-gateway-secret-a1b2c3"
CARD = "4242424242424242"
WRONG_KEY = "lgn_this_is_not_a_key_0123456789"


def child_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGGANAN_", "PROMETHEUS_"))}
    env.update({"LANGGANAN_DATABASE_URL": f"sqlite:///{tmp / 'observed.db'}", "LANGGANAN_MODE": "sandbox",
                "LANGGANAN_BOOTSTRAP_API_KEY": ADMIN_KEY, "LANGGANAN_SANDBOX_GATEWAY_SECRET": GATEWAY_SECRET,
                "LANGGANAN_CLOCK_START": "2026-01-15T10:00:00+07:00", **extra})
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def served_json(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    env = child_env(tmp_path, LANGGANAN_LOG_FORMAT="json", LANGGANAN_STAFF_PASSWORD=STAFF_PASSWORD)
    cli(env, "migrate")
    cli(env, "staff", "create", "--email", "ops@example.id")
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as out:  # standard error alone: the log lines
        proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--no-worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=out, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", proc, log)
        yield f"http://127.0.0.1:{port}", env, log
    finally:
        _stop(proc)


def test_json_log_lines_carry_request_and_account_ids_and_no_secret(
        served_json: tuple[str, dict[str, str], Path]) -> None:
    url, env, log = served_json
    integration = re.search(r"(lgn_\S+)", cli(env, "api-keys", "create", "--role", "integration"))
    assert integration is not None
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    secrets: dict[str, str] = {"admin key": ADMIN_KEY, "integration key": integration.group(1),
                               "wrong key": WRONG_KEY, "staff password": STAFF_PASSWORD,
                               "gateway secret": GATEWAY_SECRET, "card": CARD, "spaced card": "4242 4242"}
    with httpx.Client(base_url=url, headers=admin, timeout=60) as api:
        made = api.post("/v1/accounts", json={"name": "Toko", "email": "owner@toko.id"},
                        headers={"X-Request-Id": "it-req-0001"})
        assert made.status_code == 201 and made.headers["x-request-id"] == "it-req-0001"
        acc = made.json()["id"]
        assert api.put(f"/v1/accounts/{acc}/billing-info", json=BILLING).status_code == 200
        token = api.post("/v1/sandbox/cards", json={"number": "4242 4242 4242 4242", "exp_month": 12,
                                                     "exp_year": 2030, "cvc": "123"}).json()["provider_token"]
        pm = api.post(f"/v1/accounts/{acc}/payment-methods", json={"provider_token": token}).json()["id"]
        assert api.post(f"/v1/accounts/{acc}/subscription/change",
                        json={"plan": "growth", "payment_method": "card", "payment_method_id": pm}).status_code == 200
        hook = api.post("/v1/webhook-endpoints", json={"url": "https://example.id/hooks", "events": ["*"]}).json()
        secrets["webhook secret"] = hook["secret"]
        portal = api.post(f"/v1/accounts/{acc}/portal-sessions").json()["url"]
        secrets["portal token"] = portal.rsplit("/", 1)[1]
        for i in range(3):
            assert api.post("/v1/usage", json={"id": f"u{i}", "account_id": acc,
                                               "meter": "conversation_reply"}).status_code == 201
        assert api.get("/v1/plans", headers={"Authorization": f"Bearer {WRONG_KEY}"}).status_code == 401
        assert api.get("/v1/plans", headers={"Authorization": f"Bearer {secrets['integration key']}"}) \
            .status_code == 200
        advanced = api.post("/v1/sandbox/clock/advance", json={"days": 31})  # renews by card, mails by sandbox
        assert advanced.status_code == 200
        advance_id = advanced.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", advance_id)
    with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as browser:
        assert browser.get(portal[portal.index("/portal/"):]).status_code == 200
        secrets["portal cookie"] = next(iter(browser.cookies.values()))
        csrf = CSRF_RE.search(browser.get("/console/login").text)
        assert csrf is not None
        signed = browser.post("/console/login", data={"email": "ops@example.id", "password": STAFF_PASSWORD,
                                                      "csrf_token": csrf.group(1)})
        assert signed.status_code == 200 and "/console/login" not in str(signed.url)
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "langganan.access"]
    first = next(line for line in access if line["request_id"] == "it-req-0001")
    assert (first["method"], first["route"], first["status"]) == ("POST", "/v1/accounts", 201)
    assert isinstance(first["duration_ms"], float | int)
    for line in access:
        if "{account_id}" in line["route"] or line["route"] == "/v1/usage":
            assert line.get("account_id") == acc, line
        assert acc not in line["route"] and acc not in line["msg"], line  # the template, not the raw path
    assert sum(line["route"] == "/v1/usage" and line["status"] == 201 for line in access) == 3
    assert [line.get("account_id") for line in access if line["route"] == "/portal"] == [acc]  # by its session
    assert {line["route"] for line in access} >= {"/portal/session/{token}", "/console/login", "/v1/plans"}
    ids = [line["request_id"] for line in access]
    assert len(ids) == len(set(ids))  # one line per request, each its own id
    mails = [line for line in lines if line["msg"].startswith("sandbox mail to")]
    assert mails and all(line["request_id"] == advance_id for line in mails)  # written while it was handled
    leaked = {what: value for what, value in secrets.items() if value in text}
    assert not leaked, leaked


def test_the_demo_writes_text_for_a_person(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    proc = _start(["serve", "--demo", "--port", str(port), "--no-worker"], child_env(tmp_path), log)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", proc, log)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/plans", headers={"X-Request-Id": "demo-1"}).status_code == 401
    finally:
        _stop(proc)
    text = log.read_text()
    assert re.search(r"^\d\d:\d\d:\d\d INFO  GET /v1/plans 401 [\d.]+ ms \[demo-1\]$", text, re.MULTILINE), text
    assert not [line for line in text.splitlines() if line.startswith("{")], text


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    res = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30)
    assert res.status_code == 200, res.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(res.text) for s in f.samples}


def _plans(samples: dict[tuple[str, tuple[tuple[str, str], ...]], Any]) -> float:
    key = ("langganan_http_requests_total", (("method", "GET"), ("route", "/v1/plans"), ("status", "200")))
    return float(samples.get(key, 0.0))


def test_in_multiprocess_mode_one_scrape_counts_every_process(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = child_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(shared))
    cli(env, "migrate")
    servers = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"serve-{name}.log"
            servers.append((f"http://127.0.0.1:{port}", _start(["serve", "--port", str(port), "--no-worker"],
                                                                env, log)))
            _wait_for(f"http://127.0.0.1:{port}/healthz", servers[-1][1], log)
        (a, _), (b, _) = servers
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        for url, times in ((a, 3), (b, 4)):
            for _ in range(times):
                assert httpx.get(f"{url}/v1/plans", headers=admin).status_code == 200
        cli(env, "worker", "--once")  # a third process, gone before the scrape
        seen_by_a, seen_by_b = _scrape(a), _scrape(b)
    finally:
        for _, proc in servers:
            _stop(proc)
    assert _plans(seen_by_a) == _plans(seen_by_b) == 7
    assert seen_by_a[("langganan_due_run_duration_seconds_count", ())] == 1  # the worker's run
    assert len([p for p in shared.iterdir() if p.suffix == ".db"]) >= 3  # each process kept its own files
