"""Small pieces for the pure-ASGI middlewares that must see a request body before the app does."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Send

from langganan.kit.errors import DomainError, Unavailable


async def read_body(receive: Receive) -> bytes:
    """The whole body; ClientDisconnect when the client went away (or kit.bodylimit refused the body) before
    it ended, so nothing acts on a part of a body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the already-read body once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_json(send: Send, status: int, payload: dict[str, Any] | bytes,
                    extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               *(extra_headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def send_error(send: Send, error: DomainError) -> None:
    """Answer with a domain error in the API error shape, with the headers it carries (Retry-After)."""
    headers = error.headers() if isinstance(error, Unavailable) else {}
    await send_json(send, error.status, error.body(), [(k.lower().encode(), v.encode()) for k, v in headers.items()])
