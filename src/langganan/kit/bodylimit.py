"""A limit on request bodies, enforced while they are read: the outermost layer of the application.

A request whose Content-Length is over its route's limit is answered 413 before a byte of its body is
read. A body without a length (chunked) is counted as the server hands it over; once it passes the limit
the 413 goes out at once and whoever reads on (a middleware, the route) is told the client is gone
(`http.disconnect`), so nothing runs on a truncated body and nothing more of it is kept. What the server
reads of the body after the answer is thrown away. A Content-Length within the limit needs no counting:
the server never hands over more than it announced.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langganan.kit.asgi import send_error
from langganan.kit.errors import PayloadTooLarge


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("request_too_large", f"The request body is larger than the {limit} bytes this "
                           "route accepts.")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, default: int, routes: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get(scope["path"], self.default)
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                length = None
                break
        if length is not None and length.isdigit():
            if int(length) > limit:
                error = too_large(limit)
                await send_error(send, error)
                return
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        refused = started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        error = too_large(limit)
                        await send_error(send, error)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:  # the 413 went out: whatever the app answers to the "disconnect" goes nowhere
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
