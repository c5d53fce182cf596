"""Refuse NUL characters anywhere in a request: PostgreSQL cannot store them in text, and no
legitimate name, id or reference contains one. Answered 400 before anything runs."""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan.kit.asgi import read_body, replaying, send_error
from langganan.kit.errors import InvalidRequest

_REFUSED = InvalidRequest("invalid_characters", "The request contains a NUL character, which no field accepts.")
_FORM = b"application/x-www-form-urlencoded"


def refused_target(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


def refused_body(scope: Scope, body: bytes) -> bool:
    form = any(name == b"content-type" and value.startswith(_FORM) for name, value in scope["headers"])
    return b"\\u0000" in body or b"\x00" in body or (form and b"%00" in body)


class RefuseNulMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if refused_target(scope):
            await send_error(send, _REFUSED)
            return
        try:
            body = await read_body(receive)
        except ClientDisconnect:  # nobody to answer
            return
        if refused_body(scope, body):
            await send_error(send, _REFUSED)
            return
        await self.app(scope, replaying(body, receive), send)
