"""Every `/v1` route except the gateway callbacks (`/v1/gateways/...`, signed by the gateway) needs an API
key. This layer answers 401 to a request without a known one before anything reads its body, so an
anonymous client cannot make the server take in (or the NUL and idempotency layers buffer) a large body.
An unknown key is looked up in a worker thread, never on the event loop; a valid one is then cached
(apikeys.service) and the route's own check finds it at once."""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan.apikeys.service import authenticate, cached_principal
from langganan.kit.asgi import send_error
from langganan.kit.db import is_transient
from langganan.kit.errors import Unauthorized, database_busy
from langganan.kit.work import Work

API_PREFIX, UNSIGNED_PREFIX = "/v1/", "/v1/gateways/"


def needs_api_key(path: str) -> bool:
    return path.startswith(API_PREFIX) and not path.startswith(UNSIGNED_PREFIX)


class ApiKeyGate:
    def __init__(self, app: ASGIApp, sessions: Callable[[], Work]) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_api_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        if cached_principal(authorization) is None:
            try:
                await anyio.to_thread.run_sync(authenticate, self.sessions, authorization)
            except Unauthorized as exc:
                await send_error(send, exc)
                return
            except Exception as exc:  # the key lookup could not have its lock: 503, as every route answers
                if not is_transient(exc):
                    raise
                await send_error(send, database_busy())
                return
        await self.app(scope, receive, send)
