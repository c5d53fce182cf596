"""The API's app context and API key dependencies: what every domain's endpoints are handed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import anyio.to_thread
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from langganan.apikeys.gate import SCOPE_KEY, lookup
from langganan.apikeys.service import Principal, require_role
from langganan.config import Settings
from langganan.kit.clock import Clock
from langganan.kit.db import Database
from langganan.kit.work import Work

if TYPE_CHECKING:  # (annotations only: the packages whose endpoints take this context import it at run time)
    from langganan.notifications.delivery import Courier
    from langganan.payments.gateway import Gateway


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    gateway: Gateway
    courier: Courier  # sends emails and webhooks (notifications.delivery)

    def now(self, session: Work) -> datetime:
        return self.clock.now(session)

    def background(self) -> AppContext:
        """This context for work no request waits on (`kit.db.Database.background`): due work and
        deliveries wait longer for a lock, and on SQLite let waiting requests in between batches."""
        return replace(self, db=self.db.background)

    @contextmanager
    def unit(self) -> Iterator[tuple[Work, datetime]]:
        """One request-owned transaction and the engine time it runs at."""
        with self.db.transaction() as session:
            yield session, self.clock.now(session)


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


# The dependencies below are coroutines so that FastAPI runs them on the event loop, not in the
# thread pool: a request needs no thread hop for them (its key was looked up by the gate, apikeys/gate.py).
async def get_ctx(request: Request) -> AppContext:
    return app_context(request)


Ctx = Annotated[AppContext, Depends(get_ctx)]


# The API key as the OpenAPI document describes it (a bearer token); `_principal` reads the header itself
# so that a missing and a wrong key get their own errors. An admin-only route requires the "admin" role,
# which the document shows as the security requirement's role (kit/openapi.py answers it with 403).
api_key = HTTPBearer(scheme_name="ApiKey", auto_error=False,
                     description="An API key: `Authorization: Bearer <key>`. Its role is admin or integration.")


async def _principal(request: Request,
                     _: Annotated[HTTPAuthorizationCredentials | None, Security(api_key)]) -> Principal:
    known = request.scope.get(SCOPE_KEY)
    if isinstance(known, Principal):  # the gate looked it up for this request
        return known
    # (a route outside /v1, e.g. /metrics, is not behind the gate)
    db = app_context(request).db
    return await anyio.to_thread.run_sync(lookup, db, request.headers.get("authorization"))


async def require_integration(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    return principal


async def require_admin(principal: Annotated[Principal, Security(_principal, scopes=["admin"])]) -> Principal:
    require_role(principal, "admin")
    return principal


AnyKey = Annotated[Principal, Depends(require_integration)]
AdminKey = Annotated[Principal, Depends(require_admin)]
