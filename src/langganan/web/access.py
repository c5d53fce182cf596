"""The outermost layer of the application (in front of the body limit and the usage fast lane, so it sees
every request): gives each request its id, counts and times it in the metrics by route template and
status, and writes one access line per request.

The request id is the client's `X-Request-Id` when it is 1-128 characters of letters, digits and `._:-`
(anything else is replaced), else a new one; the answer carries it back in `X-Request-Id`, and every log
line written while the request is handled names it (`logs.RequestInfo`). The route is the template that
answered (`/v1/accounts/{account_id}`), found after the app answered; a request answered before routing (401
from the API key gate, 413 from the body limit, the usage fast lane) is matched against the routes here;
one no route matches is `unmatched`. No raw path, query string or header is logged: a path can carry a
secret (a portal link's token)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langganan import logs, metrics

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
log = logging.getLogger("langganan.access")


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-Id when it is a usable one, else a new id."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _VALID_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class Templates:
    """Route templates of requests the router never saw: a path no route parameter is in is its own
    template (a dictionary lookup: the usage fast lane's two routes); the rest are matched in route order."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.routes = list(routes)
        self.literal = {path for route in self.routes if "{" not in (path := _template(route))}

    def find(self, scope: Scope, path: str, root_path: str) -> tuple[str, dict[str, Any]]:
        """The template of the route `path` (under `root_path`) goes to; `scope` may have been changed by a
        mount on the way."""
        if path in self.literal:
            return path, {}
        scope = {**scope, "path": path, "root_path": root_path}
        candidates: list[Any] = [*iter_route_contexts(self.routes), *(r for r in self.routes if isinstance(r, Mount))]
        for route in candidates:
            match, child = route.matches(scope)
            if match != Match.NONE:
                return _template(route), dict(child.get("path_params") or {})
        return metrics.UNMATCHED, {}


def _template(route: Any) -> str:
    """A route's path template; a mount's is its path and `/{path}` (the static files: `/static/{path}`)."""
    if isinstance(route, Mount):
        return route.path + "/{path}"
    return str(getattr(route, "path_format", None) or getattr(route, "path", "") or metrics.UNMATCHED)


class AccessLayer:
    def __init__(self, app: ASGIApp, templates: Templates) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, path, root_path = time.perf_counter(), scope["path"], scope.get("root_path", "")
        info = logs.RequestInfo(request_id(scope["headers"]))
        echoed = (REQUEST_ID_HEADER, info.request_id.encode("ascii"))
        status = 500  # (when the app fails before it answers, the server answers 500)

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = logs.begin_request(info)
        try:
            await self.app(scope, receive, answer)
        finally:
            try:
                self._done(scope, (path, root_path), info, status, time.perf_counter() - started)
            except Exception:  # counting or logging a request never fails it
                log.exception("the access line of a request could not be written")
            logs.end_request(token)

    def _done(self, scope: Scope, asked: tuple[str, str], info: logs.RequestInfo, status: int,
              seconds: float) -> None:
        route = scope.get("route")
        params: dict[str, Any] = scope.get("path_params") or {}
        template = _template(route) if route is not None else None
        if template is None:
            template, params = self.templates.find(scope, *asked)
        account = params.get("account_id")
        if isinstance(account, str):
            logs.note_account(account)
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        metrics.http_request(method, template, status, seconds)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %s %.1f ms", method, template, status, seconds * 1000,
                     extra={"method": method, "route": template, "status": status,
                            "duration_ms": round(seconds * 1000, 2)})
