"""HTML answers for the pages: a domain error, a 404 or a crash under /portal or /console renders an
error page in the visitor's language instead of the API's JSON body. A database that is busy (a lock
not had in time, `kit.db.is_transient`) is a 503 page with Retry-After, as the API answers it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from langganan.kit.db import is_transient
from langganan.kit.errors import RETRY_AFTER_SECONDS, DomainError
from langganan.kit.web import DATABASE_ERRORS, allowed_methods

log = logging.getLogger("langganan")
PAGE_PREFIXES = ("/portal", "/console")


class PageError(Exception):
    """Stop a page with a status and a message key of the catalog (e.g. 404 `error.not_found`)."""

    def __init__(self, status: int, key: str, *, redirect: str | None = None) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.redirect = redirect


def is_page(request: Request) -> bool:
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def install_page_errors(app: FastAPI) -> None:
    from langganan.web.templating import render_error

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        if exc.redirect:
            return RedirectResponse(exc.redirect, status_code=303)
        return render_error(request, exc.status, exc.key)

    app.add_exception_handler(PageError, page_error)

    def wrap(original: Handler, status_of: Callable[[Any], int], key_of: Callable[[Any], str],
             when: Callable[[Any], bool] = lambda e: True) -> Callable[[Request, Any], Awaitable[Response]]:
        async def handler(request: Request, exc: Any) -> Response:
            if not is_page(request) or not when(exc):
                result = original(request, exc)
                return await result if inspect.isawaitable(result) else result
            status = status_of(exc)
            if status == 503:
                log.warning("page answered 503: %s", exc)
            elif status >= 500:
                log.exception("page failed", exc_info=exc)
            response = render_error(request, status, key_of(exc), message=getattr(exc, "message", None))
            if status == 503:
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            if status == 405:
                response.headers["Allow"] = allowed_methods(request)
            return response

        return handler

    handlers = app.exception_handlers
    handlers[DomainError] = wrap(handlers[DomainError], lambda e: e.status, lambda e: f"error.{e.code}")
    handlers[StarletteHTTPException] = wrap(handlers[StarletteHTTPException], lambda e: e.status_code,
                                            lambda e: "error.not_found" if e.status_code == 404 else "error.generic")
    handlers[RequestValidationError] = wrap(handlers[RequestValidationError], lambda e: 422,
                                            lambda e: "error.bad_request")
    handlers[Exception] = wrap(handlers[Exception], lambda e: 503 if is_transient(e) else 500,
                               lambda e: "error.database_busy" if is_transient(e) else "error.internal")
    for error in DATABASE_ERRORS:  # a transient one is a 503 page; any other raises on to the 500 page
        handlers[error] = wrap(handlers[error], lambda e: 503, lambda e: "error.database_busy",
                               when=is_transient)
