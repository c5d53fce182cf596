"""Refuse NUL characters anywhere in a request: PostgreSQL cannot store them in text, and no
legitimate name, id or reference contains one. Answered 400 before anything runs."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BODY = {"error": {"type": "invalid_request_error", "code": "invalid_characters",
                   "message": "The request contains a NUL character, which no field accepts.", "param": None}}


class RefuseNulMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"") or b"\x00" in scope.get(
                "query_string", b""):
            await _refuse(send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if b"\\u0000" in body or b"\x00" in body:
            await _refuse(send)
            return
        done = False

        async def replay() -> Message:
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send) -> None:
    payload = json.dumps(_BODY).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
