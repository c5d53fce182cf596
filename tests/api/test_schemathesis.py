"""Schemathesis over the app's own OpenAPI document (issue 11): every operation is called in process
(ASGI) with generated input, valid and invalid, with the admin key, against a small seeded dataset.
Each generated path, query or body field may be swapped for a seeded id (so that paths name rows that
exist), a value the service accepts (a plan code, a bank, a meter...) or an edge value (a string longer
than any column, Unicode digits, a time with no UTC instant, an integer beyond BigInteger). A gateway
callback is signed as the sandbox gateway signs it, so its body is checked and not only its signature.
It fails on any 5xx (`not_a_server_error`), on any response whose body breaks the documented schema
(`response_schema_conformance`) and on any status the operation does not document
(`status_code_conformance`). It runs on SQLite and on PostgreSQL.

Deterministic: Hypothesis is derandomized, so a run generates the same requests every time.
LANGGANAN_SCHEMATHESIS_EXAMPLES (default 25 per operation, kind of data and database) runs it longer,
LANGGANAN_SCHEMATHESIS_SEED=<n> with other data; a failure prints the request that reproduces it (as a
curl command) and the response.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from langganan.payments.sandbox import SandboxGateway
from tests.conftest import ADMIN_KEY, CLOCK_START, Env

EXAMPLES = int(os.environ.get("LANGGANAN_SCHEMATHESIS_EXAMPLES", "25"))
# Other data than CI's, for soak runs: LANGGANAN_SCHEMATHESIS_SEED=<n> (the seed is printed with a failure)
SEED = int(os.environ["LANGGANAN_SCHEMATHESIS_SEED"]) if os.environ.get("LANGGANAN_SCHEMATHESIS_SEED") else None
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
NOTIFICATIONS = "/v1/gateways/{provider}/notifications"
ADVANCE = "/v1/sandbox/clock/advance"
ADVANCE_TIMEOUT_SECONDS = 120


def seed(env: Env) -> dict[str, list[Any]]:
    """A few rows of every kind a path, query or body can name: accounts on Free, on a paid plan and
    in a trial, a paid and an unpaid invoice, a saved card, an add-on, a hold, a promotion, a webhook
    endpoint and a feed item. Returns the values to use, by parameter name."""
    free, paid, trial = env.account(), env.account(), env.account(start_trial=True)
    paid_invoice = env.buy(paid["id"], "growth")
    unpaid = env.ok(env.post(f"/v1/accounts/{free['id']}/subscription/change",
                             {"plan": "pro", "payment_method": "bank_transfer"}))["invoice"]
    card = env.card(paid["id"])
    env.pay_va(env.ok(env.post(f"/v1/accounts/{paid['id']}/add-ons",
                               {"add_on": "additional_user", "quantity": 2}), 201))
    item = env.ok(env.get(f"/v1/accounts/{paid['id']}/add-ons"))["data"][0]
    env.top_up(paid["id"], "conversation", 50_000)
    env.ok(env.post("/v1/usage", {"id": "seed-1", "account_id": paid["id"], "meter": "conversation_reply"}), 201)
    hold = env.ok(env.post("/v1/reservations", {"account_id": paid["id"], "meter": "conversation_reply",
                                                "quantity": 3}), 201)
    promo = env.ok(env.post("/v1/promotions", {"code": "SEED10", "percent_off": 10, "plans": ["growth", "pro"],
                                               "duration_months": 2}), 201)
    hook = env.ok(env.post("/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}), 201)
    feed = env.ok(env.get(f"/v1/accounts/{paid['id']}/notifications"))["data"]
    accounts = [free["id"], paid["id"], trial["id"]]
    return {"account_id": accounts, "invoice_id": [unpaid["id"], paid_invoice["id"]], "item_id": [item["id"]],
            "reservation_id": [hold["id"]], "promotion": [promo["id"], "SEED10"], "code": ["SEED10"],
            "endpoint_id": [hook["id"]], "notification_id": [n["id"] for n in feed] or ["ntf_none"],
            "kind": ["conversation", "broadcast"], "provider": ["sandbox"], "payment_method_id": [card],
            "external_id": [None], "va_number": [unpaid["payment"]["va_number"]]}


# Values that pass the service's own checks, mixed in so that generated requests get past them
GOOD: dict[str, list[Any]] = {
    "plan": ["free", "starter", "growth", "pro"], "interval": ["month", "year"],
    "payment_method": ["bank_transfer", "card"], "bank": ["bca", "mandiri"], "wallet": ["conversation", "broadcast"],
    "meter": ["conversation_reply", "broadcast_message"], "add_on": ["additional_user", "additional_contact"],
    "email": ["owner@example.id"], "locale": ["id", "en"], "timezone": ["Asia/Jakarta", "Pacific/Kiritimati"],
    "currency": ["IDR"], "status": ["unpaid", "paid"], "type": ["usage", "top_up", "invoice.paid"],
    "feature": ["broadcast"], "limit": ["users", "contacts", "broadcasts_per_month"],
    "number": ["4242424242424242", "4000000000000002"], "cvc": ["123"], "exp_month": [12], "exp_year": [2030],
    "phone": ["+62 21 555 0101"], "country": ["ID"], "url": ["http://127.0.0.1:9/hook"], "events": [["*"]],
}


def _clean(value: Any) -> Any:
    """NUL characters are refused before anything runs (400, tests/api/test_bad_input.py); taken out of
    generated strings so the requests reach the code behind that check."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# Values at the edges of what can be stored or parsed, tried in place of any string or integer: longer
# than any column (also once lower-cased), digits int() does not read, times with no UTC instant,
# integers beyond Integer and BigInteger columns.
EDGE_TEXT = ["x" * 300, "İ" * 200, "²", "9" * 5000, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
EDGE_INT = [2**31, 2**63, -(2**63) - 1, 10**20]


def _variants(key: str, value: Any, known: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    choices = [st.just(_clean(value))]
    if key in known:
        choices.append(st.sampled_from(known[key]))
    if isinstance(value, str):
        choices.append(st.sampled_from(EDGE_TEXT))
    elif isinstance(value, int) and not isinstance(value, bool):
        choices.append(st.sampled_from(EDGE_INT))
    return st.one_of(choices)


def _mix(values: Any, known: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Each parameter of `values` as generated, or replaced by a seeded or good value, or by an edge value."""
    if not isinstance(values, dict):
        return st.just(_clean(values))
    return st.fixed_dictionaries({k: _variants(k, v, known) for k, v in values.items()})


def hooks(schema: Any, known: dict[str, list[Any]]) -> None:
    def flatmap_path_parameters(_context: Any, values: Any) -> Any:
        return _mix(values, known)

    def flatmap_query(_context: Any, values: Any) -> Any:
        return _mix(values, known)

    def flatmap_body(_context: Any, values: Any) -> Any:
        return _mix(values, known)

    for hook in (flatmap_path_parameters, flatmap_query, flatmap_body):
        schema.hook(hook)


def _request_kwargs(case: Any, secret: str) -> dict[str, Any]:
    """What the test sends besides the generated case: the admin key; a gateway callback signed as the
    sandbox gateway signs it (so the body is checked, not only the signature); a clock that moves at
    most a few days (the 10-year bounds have their own tests; a long advance takes seconds)."""
    headers = dict(AUTH)
    if case.operation.path == NOTIFICATIONS:
        body = case.body
        raw = b"" if body is NOT_SET else body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.update(SandboxGateway(secret).sign(raw, wall_now=datetime.now(UTC)))
        headers["Content-Type"] = "application/json"
        return {"headers": headers, "data": raw}
    if case.operation.path == ADVANCE and isinstance(case.body, dict):
        for name, most in (("days", 3), ("hours", 72)):
            if isinstance(case.body.get(name), int) and case.body[name] > most:
                case.body[name] = most
        to = case.body.get("to")
        if isinstance(to, str) and not _before_the_clock(to):  # (a time in the past is a quick 409)
            case.body["to"] = "2026-01-16T03:00:00Z"
        # The first advance sends the emails of every event the cases before it made, each invoice's with its
        # PDF: it once took more than schemathesis's 10 s on CI's busy cores (a time-out, not an answer).
        return {"headers": headers, "timeout": ADVANCE_TIMEOUT_SECONDS}
    return {"headers": headers}


def _before_the_clock(text: str) -> bool:
    try:
        return datetime.fromisoformat(text) < CLOCK_START
    except (ValueError, TypeError, OverflowError):
        return True  # not a time: the API refuses it


def describe(exc: BaseException) -> str:
    """The failure, with its notes (the request to reproduce it) and those of a group's members (a
    failure Hypothesis could not reproduce is a group of the original one)."""
    parts = [f"{type(exc).__name__}: {exc}", *getattr(exc, "__notes__", [])]
    if isinstance(exc, BaseExceptionGroup):
        parts += [describe(sub) for sub in exc.exceptions]
    return "\n".join(parts)


CHECKS: list[Callable[..., Any]] = [not_a_server_error, response_schema_conformance, status_code_conformance]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def test_every_operation_answers_without_a_server_error_and_as_documented(env: Env) -> None:
    known = seed(env)
    schema = schemathesis.openapi.from_asgi("/openapi.json", env.client.app)
    hooks(schema, {**GOOD, **known})
    secret = env.settings.sandbox_gateway_secret
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        # (invalid data needs something to break: a body or a query; a path id is any string)
        for mode in MODES if operation.body or len(operation.query) else MODES[:1]:

            @settings(max_examples=EXAMPLES, derandomize=SEED is None, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), print_blob=False)
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                case.call_and_validate(checks=CHECKS, **_request_kwargs(case, secret))

            if SEED is not None:
                call = hypothesis.seed(SEED)(call)

            try:
                call()
            except Unsatisfiable:  # nothing of this operation can be made invalid
                continue
            except (Exception, FailureGroup) as exc:  # every operation is tried; the failures are reported together
                failures.append(f"{operation.label} ({mode.value} data{f', seed {SEED}' if SEED else ''}):\n"
                                f"{describe(exc)}")
            tested += 1
    assert tested >= 90, tested  # (59 operations today, most with a body or query to break)
    assert not failures, f"{len(failures)} of {tested} runs failed:\n\n" + "\n\n".join(failures)
