"""HTTP plumbing shared by every domain's endpoints: context, auth, transactions, errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from langganan.apikeys.service import Principal, authenticate, cached_principal, require_role
from langganan.config import Settings
from langganan.kit.clock import Clock
from langganan.kit.db import Database
from langganan.kit.errors import DomainError
from langganan.notifications.delivery import Courier
from langganan.payments.gateway import Gateway

log = logging.getLogger("langganan")


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    gateway: Gateway
    courier: Courier  # sends emails and webhooks (notifications.delivery)

    def now(self, session: Session) -> datetime:
        return self.clock.now(session)

    @contextmanager
    def unit(self) -> Iterator[tuple[Session, datetime]]:
        """One request-owned transaction and the engine time it runs at."""
        with self.db.transaction() as session:
            yield session, self.clock.now(session)


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


# The dependencies below are coroutines so that FastAPI runs them on the event loop, not in the
# thread pool: a request needs no thread hop for them (a known key is answered from the cache).
async def get_ctx(request: Request) -> AppContext:
    return app_context(request)


Ctx = Annotated[AppContext, Depends(get_ctx)]


async def _principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    known = cached_principal(authorization)
    if known is not None:
        return known
    sessions = request.app.state.ctx.db.sessions
    return await anyio.to_thread.run_sync(authenticate, sessions, authorization)


async def require_integration(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    return principal


async def require_admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    require_role(principal, "admin")
    return principal


AnyKey = Annotated[Principal, Depends(require_integration)]
AdminKey = Annotated[Principal, Depends(require_admin)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
StartingAfter = Annotated[str | None, Query(description="Return items older than this id.")]


def _error(status: int, type_: str, code: str, message: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": type_, "code": code, "message": message,
                                                               "param": param}})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.body())

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
        return _error(exc.status_code, "invalid_request_error", code, message)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_error(exc)


def unexpected_error(exc: Exception) -> JSONResponse:
    """The answer to an error nobody expected (logged), the same wherever it is caught."""
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "api_error", "internal_error", "Something went wrong on our side; nothing was changed.")
