"""The error answers of the OpenAPI document: one error schema, and on every operation the errors it
can really give.

Most of them follow from how an operation is built, so `describe_errors` adds them to the generated
document from the operation itself: 401 where it takes an API key, 403 where that key must have a
role (the security requirement names it), 404 where the path names something, 409 on an API-key
POST (an `Idempotency-Key` sent again with another body), 413 where it takes a body, 422 where a
body or query is validated (replacing FastAPI's own 422 schema: our handler answers in our shape),
and 400 and 503 everywhere (a NUL character anywhere in a request; a busy database). What only the
service knows (a 402 decline, a 409 state conflict on a PUT) a route declares with
`responses=errors(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ConfigDict, Field

REF = "#/components/schemas/"


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="invalid_request_error, authentication_error, permission_error, payment_error, "
                                  "idempotency_error or api_error")
    code: str = Field(description="A stable snake_case code to branch on, e.g. insufficient_balance")
    message: str = Field(description="A sentence a person understands")
    param: str | None = Field(description="The parameter at fault, or null")
    limits: list[str] | None = Field(default=None, description="limit_exceeded: each limit current usage is over")
    invoice_id: str | None = Field(default=None, description="A declined card: the invoice it was to pay")
    payment_id: str | None = Field(default=None, description="A declined card: the failed payment recorded")


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorDetail


DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed: its body is not valid JSON (`invalid_json`), or it contains a NUL character "
         "(`invalid_characters`).",
    401: "No API key, or one that is not valid (`missing_api_key`, `invalid_api_key`).",
    402: "A card was declined (`card_declined`, `insufficient_funds`; the error names `payment_id` and "
         "`invoice_id`), or a wallet cannot cover it (`insufficient_balance`).",
    403: "The API key's role may not do this: admin keys only (`forbidden`).",
    404: "Something the request names does not exist (`<thing>_not_found`).",
    409: "The current state does not allow it (e.g. `billing_info_required`, `limit_exceeded` with `limits`), or the "
         "`Idempotency-Key` was sent before with another body (`idempotency_key_reused`, "
         "`idempotency_key_in_progress`).",
    413: "The request body is larger than this route accepts.",
    415: "The body's Content-Type is not one this route reads (`unsupported_media_type`).",
    422: "A parameter or body field is missing, unknown or invalid (`missing_parameter`, `unknown_parameter`, "
         "`invalid_parameter`, or a code of the rule it breaks, e.g. `amount_below_minimum`).",
    502: "The payment gateway refused the request (`gateway_refused` or a more precise code); nothing was changed.",
    503: "The database is busy, or the payment gateway did not answer in time (`gateway_unavailable`); nothing "
         "was changed. Retry after `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}


def errors(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status answered with the error schema. `described`
    gives a status a description of its own (and declares it)."""
    out: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": DESCRIPTIONS[status]} for status in statuses}
    for status, text in (described or {}).items():
        out[status] = {"model": ErrorResponse, "description": text}
    return out


def operation_id(route: APIRoute) -> str:
    """An operation's id is its endpoint function's name (`create_account`), so a generated client's
    functions read like the API; FastAPI's default appends the path and method. Names are unique (FastAPI
    warns about a duplicate id, and the suite turns warnings into errors)."""
    return route.name


def api_router(**options: Any) -> APIRouter:
    """A module's router. The app serves the routes as they are built here, once per process
    (`app.create_app`), so what the app's `include_router` would give them is given here: operations
    named by `operation_id`."""
    return APIRouter(generate_unique_id_function=operation_id, **options)


def _answer(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": DESCRIPTIONS[status],
                              "content": {"application/json": {"schema": {"$ref": REF + "ErrorResponse"}}}}
    if status == 503:
        answer["headers"] = RETRY_AFTER
    return answer


def _validated(operation: Mapping[str, Any]) -> bool:
    """Whether FastAPI validates anything but path segments (which are plain strings here)."""
    return "requestBody" in operation or any(p.get("in") != "path" for p in operation.get("parameters", ()))


def _fastapi_422(answer: Mapping[str, Any]) -> bool:
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == REF + "HTTPValidationError")


def operation_errors(method: str, path: str, operation: Mapping[str, Any]) -> list[int]:
    """The error statuses an operation gives by its build alone."""
    statuses = [400, 503]
    security = operation.get("security") or []
    if security:
        statuses.append(401)
        if any(roles for requirement in security for roles in requirement.values()):
            statuses.append(403)
        if method == "post":
            statuses.append(409)
    if "{" in path:
        statuses.append(404)
    if "requestBody" in operation:
        statuses.append(413)
    if _validated(operation):
        statuses.append(422)
    return sorted(statuses)


def describe_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add every operation's error answers to a generated document, in place; returns it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorResponse, ErrorDetail):
        components.setdefault(model.__name__, _component(model))
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            if "422" in answers and _fastapi_422(answers["422"]):
                del answers["422"]
            for status in operation_errors(method, path, operation):
                answers.setdefault(str(status), _answer(status))
            operation["responses"] = dict(sorted(answers.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _component(model: type[BaseModel]) -> dict[str, Any]:
    found = model.model_json_schema(ref_template=REF + "{model}", mode="serialization")
    found.pop("$defs", None)
    return found
