"""HTTP plumbing shared by every domain's endpoints that knows no domain: page parameters and error answers.
The app context and the API key dependencies are in `langganan.web.context`."""

from __future__ import annotations

import logging
import sqlite3
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from langganan.kit.db import is_transient
from langganan.kit.errors import DomainError, Unavailable, database_busy

log = logging.getLogger("langganan")


Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
StartingAfter = Annotated[str | None, Query(description="Return items older than this id.")]


def _error(status: int, type_: str, code: str, message: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": type_, "code": code, "message": message,
                                                               "param": param}})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first: dict[str, Any] = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return _error(400, "invalid_request_error", "invalid_json", "The request body is not valid JSON.")
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
        param = ".".join(loc) or None
        msg = str(first.get("msg", "Invalid request."))
        if first.get("type") == "missing":
            code, text = "missing_parameter", f"{param or 'A parameter'} is required."
        elif first.get("type") == "extra_forbidden":
            code, text = "unknown_parameter", f"{param} is not a known parameter."
        else:
            code, text = "invalid_parameter", f"{param or 'The request'}: {msg}."
        return _error(422, "invalid_request_error", code, text, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        known = {404: ("not_found", f"There is no {request.url.path} here; see /docs for the API."),
                 405: ("method_not_allowed", f"{request.method} is not allowed on {request.url.path}."),
                 # (FastAPI's answer to a body it cannot decode, e.g. bytes that are not UTF-8 under a JSON type)
                 400: ("invalid_json", "The request body is not valid JSON.")}
        code, message = known.get(exc.status_code, ("http_error", str(exc.detail).rstrip(".") + "."))
        response = _error(exc.status_code, "invalid_request_error", code, message)
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, _exc: ClientDisconnect) -> JSONResponse:
        # the client left (or kit.bodylimit refused its body) before the body ended: nobody reads this answer
        return _error(400, "invalid_request_error", "client_disconnected", "The request body did not arrive whole.")

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        if not is_transient(exc):
            raise exc  # a bug, not the weather: the 500 handler below answers (and the server logs it)
        return unexpected_error(exc)

    for error in DATABASE_ERRORS:  # (answered here, the framework does not re-raise the 503 to the server)
        app.add_exception_handler(error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_error(exc)


def allowed_methods(request: Request) -> str:
    """The `Allow` header of a 405: every method some route serves at this path (Starlette names only
    those of the first route that matched the path, and GET and POST of one path are two routes)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):  # the routes of included routers too
        if route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


# What a database error may be raised as: SQLAlchemy's wrapper, or a driver's own error where code talks
# to the driver directly (kit.bulk's COPY). `kit.db.is_transient` tells which pass by themselves.
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error, psycopg.Error)


def domain_error(exc: DomainError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content=exc.body(),
                        headers=exc.headers() if isinstance(exc, Unavailable) else None)


def unexpected_error(exc: Exception) -> JSONResponse:
    """The answer to an error nobody expected (logged), the same wherever it is caught: 503 with
    Retry-After when it is a database condition that passes by itself (`kit.db.is_transient`: a lock
    not had in time, a deadlock, a lost connection), else 500."""
    if is_transient(exc):
        log.warning("database busy or unreachable, answered 503: %s", str(exc).splitlines()[0] if str(exc) else
                    type(exc).__name__)
        return domain_error(database_busy())
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "api_error", "internal_error", "Something went wrong on our side; nothing was changed.")
