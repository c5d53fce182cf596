"""The OpenAPI document as a contract: every component name belongs to one model, every operation lists
the errors it really gives in the API's error shape, and a 405 says which methods the path has.
(tests/integration/test_openapi_client.py generates a client from the document and uses it.)"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import Match

from langganan.app import create_app, open_database
from langganan.config import Settings
from langganan.kit.openapi import ErrorResponse
from langganan.web import context as web
from tests.api.test_bad_input import assert_error
from tests.api.test_protocol import _bad_requests
from tests.conftest import Env

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
GATEWAY = ("post", "/v1/gateways/{provider}/notifications")
# Where a service declines a card or finds a wallet short (402), and where a body names what may not exist.
PAYMENT_REQUIRED = {"change_plan", "renew_subscription", "pay_invoice", "buy_add_ons", "top_up", "report_usage",
                    "create_reservation"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    db = open_database(f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'app.db'}")
    yield create_app(Settings(database_url=db.url, mode="sandbox", sandbox_gateway_secret="test-secret"), db)
    db.dispose()


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def api_routes(app: FastAPI) -> list[Any]:
    """The routes of the document, as served: with their router's prefix, dependencies and responses."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)
            and r.include_in_schema]


def calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dep in dependant.dependencies:
        if dep.call is not None:
            found.add(dep.call)
        found |= calls(dep)
    return found


def _collect(annotation: Any, seen: set[type[Any]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, Enum):  # a component of its own too
        seen.add(annotation)
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        annotation.model_rebuild()  # a field naming a model defined further down is resolved on first use
        for field in annotation.model_fields.values():
            _collect(field.annotation, seen)
    for arg in get_args(annotation):
        _collect(arg, seen)


def route_models(app: FastAPI) -> set[type[Any]]:
    """Every model a route reads or answers with, and the models and enums inside them."""
    seen: set[type[Any]] = set()
    for route in api_routes(app):
        for field in (route.body_field, route.response_field, *route.response_fields.values()):
            if field is not None:
                _collect(field.field_info.annotation, seen)
    return seen


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            yield method, path, op


# -- names ----------------------------------------------------------------------------------------

def test_no_two_models_share_a_component_name(app: FastAPI, document: dict[str, Any]) -> None:
    by_name: dict[str, set[str]] = defaultdict(set)
    models = route_models(app)
    for model in models:
        by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}
    # FastAPI names a component after its model unless two models share a name (then it uses the module
    # path) or one model reads and writes differently (Name-Input / Name-Output).
    assert set(document["components"]["schemas"]) == {m.__name__ for m in models}


def test_operation_ids_are_the_endpoint_names(app: FastAPI, document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(r.name for r in api_routes(app))


# -- error answers ------------------------------------------------------------------------------------

def test_the_error_schema_is_the_api_error_shape(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    detail = schemas["ErrorDetail"]
    assert detail["required"] == ["type", "code", "message", "param"]
    assert detail["additionalProperties"] is True  # limits, invoice_id, payment_id, ... on some errors
    assert {"limits", "invoice_id", "payment_id"} <= set(detail["properties"])
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's own 422 shape is not what we send


def test_every_operation_lists_its_errors_in_the_error_shape(app: FastAPI, document: dict[str, Any]) -> None:
    routes = {(method.lower(), r.path_format): r for r in api_routes(app) for method in r.methods}
    for method, path, op in operations(document):
        route = routes[method, path]
        where = f"{method.upper()} {path}"
        answers = op["responses"]
        errors = {int(status) for status in answers if int(status) >= 400}
        for status in errors:
            assert answers[str(status)]["content"]["application/json"]["schema"] == ERROR, (where, status)
        assert {400, 503} <= errors, where  # a NUL character anywhere; a busy database
        assert "Retry-After" in answers["503"]["headers"], where
        deps = calls(route.dependant)
        keyed = web.require_integration in deps or web.require_admin in deps
        assert (401 in errors) == (keyed or (method, path) == GATEWAY), where
        assert (403 in errors) == (web.require_admin in deps), where
        assert (bool(op.get("security")) == keyed), where
        takes_body = "requestBody" in op or (method, path) == GATEWAY
        assert (413 in errors) == takes_body, where
        validated = "requestBody" in op or any(p["in"] != "path" for p in op.get("parameters", ()))
        assert (422 in errors) == validated, where
        if "{" in path:
            assert 404 in errors, where
        if method == "post" and keyed:
            assert 409 in errors, where  # an Idempotency-Key sent again with another body
        assert (402 in errors) == (op["operationId"] in PAYMENT_REQUIRED), where


def test_the_gateway_callback_takes_no_key_and_answers_401_for_a_bad_signature(document: dict[str, Any]) -> None:
    method, path = GATEWAY
    op = document["paths"][path][method]
    assert "security" not in op
    assert "signature" in op["responses"]["401"]["description"]
    assert sorted(op["responses"]) == ["200", "400", "401", "404", "413", "422", "503"]


def _operation_of(app: FastAPI, method: str, path: str) -> tuple[str, str]:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    [route] = [r for r in api_routes(app) if r.matches(scope)[0] == Match.FULL]
    return method.lower(), route.path_format


def test_the_errors_the_api_gives_are_listed_on_their_operations(env: Env) -> None:
    app, document = env.client.app, env.client.app.openapi()
    acc = env.account()
    answers = [(label, res, status) for label, res, status, _ in _bad_requests(env)] + [
        ("short wallet", env.post("/v1/usage", {"id": "e1", "account_id": acc["id"], "meter": "conversation_reply",
                                                "quantity": 1000}), 402),
        ("quota", env.post("/v1/usage", {"id": "e4", "account_id": acc["id"], "meter": "broadcast_message"}), 409),
        ("usage account", env.post("/v1/usage", {"id": "e2", "account_id": "acc_nope", "meter": "conversation_reply"}),
         404),
        ("reservation account", env.post("/v1/reservations", {"account_id": "acc_nope", "meter": "broadcast_message",
                                                              "quantity": 1}), 404),
        ("csv", env.client.post("/v1/legacy-imports", content=b"x", headers={**env.headers, "Content-Type": "a/b"}),
         415),
        ("nul", env.get("/v1/accounts/acc%00"), 400),
        ("duplicate", env.post("/v1/usage", {"id": "e3", "account_id": acc["id"], "meter": "conversation_reply"}), 201),
        ("duplicate again", env.post("/v1/usage", {"id": "e3", "account_id": acc["id"],
                                                   "meter": "conversation_reply"}), 200),
    ]
    seen: set[tuple[str, str, str]] = set()
    for label, res, status in answers:
        assert res.status_code == status, (label, res.text)
        if status == 405 or res.request.url.path == "/v1/nope":
            continue  # no operation to list it on
        method, path = _operation_of(app, res.request.method, res.request.url.path)
        assert str(status) in document["paths"][path][method]["responses"], (label, method, path, status)
        seen.add((method, path, str(status)))
    assert len(seen) >= 20


# -- 405 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/v1/accounts", "GET, POST"),  # two routes: GET lists, POST creates
    ("GET", "/v1/usage", "POST"),
    ("POST", "/v1/accounts/acc_x/wallets/conversation", "PUT"),
    ("PATCH", "/v1/webhook-endpoints/whe_x", "DELETE, GET"),
])
def test_a_405_lists_every_method_of_the_path(env: Env, method: str, path: str, allowed: str) -> None:
    res = env.client.request(method, path, headers=env.headers)
    assert_error(res, 405, "method_not_allowed", None)
    assert res.headers["allow"] == allowed


def test_a_page_405_lists_the_methods_too(env: Env) -> None:
    res = env.client.request("DELETE", "/portal/upgrade")
    assert res.status_code == 405
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["allow"] == "GET, POST"


def test_every_error_body_is_read_by_the_error_model(env: Env) -> None:
    for label, res, status, code in _bad_requests(env):
        if status >= 400:
            assert ErrorResponse.model_validate_json(res.content).error.code == code, label
