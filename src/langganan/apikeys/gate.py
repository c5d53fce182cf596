"""Every `/v1` route except the gateway callbacks (`/v1/gateways/...`, signed by the gateway) needs an API
key. This layer looks the key up on every request, in a worker thread (never on the event loop), and answers
401 to a request without a live one before anything reads its body, so an anonymous client cannot make the
server take in (or the NUL and idempotency layers buffer) a large body. The key it found rides in the ASGI
scope to the route's own dependency (web/context.py), so a request is looked up once."""

from __future__ import annotations

import logging
from datetime import datetime

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan.apikeys.service import Principal, authenticate, live_among, note_use
from langganan.kit.asgi import send_error
from langganan.kit.clock import wall_now
from langganan.kit.db import Database, is_transient
from langganan.kit.errors import DomainError, Unauthorized, database_busy
from langganan.kit.work import Work

API_PREFIX, UNSIGNED_PREFIX = "/v1/", "/v1/gateways/"
log = logging.getLogger("langganan")
SCOPE_KEY = "langganan.api_key"  # the request's Principal, once the gate found it


def needs_api_key(path: str) -> bool:
    return path.startswith(API_PREFIX) and not path.startswith(UNSIGNED_PREFIX)


def authorization_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


def lookup(db: Database, authorization: str | None) -> Principal:
    """The key, read in one statement (no transaction around it: no BEGIN or COMMIT, on SQLite no write lock),
    and the note of its use when one is due."""
    now = wall_now()
    with db.statements() as session:
        principal, due = authenticate(session, authorization, now)
        if due:
            _note(session, [principal.key_id], now)
    return principal


def live_hashes(db: Database, hashes: set[str]) -> set[str]:
    """`lookup` for the keys of many requests at once (a group of usage events): the hashes of the live ones."""
    now = wall_now()
    with db.statements() as session:
        live, due = live_among(session, hashes, now)
        _note(session, due, now)
    return live


def _note(session: Work, key_ids: list[str], now: datetime) -> None:
    """Best effort: when the database is busy, the next request notes the use."""
    for key_id in key_ids:
        try:
            note_use(session, key_id, now)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.info("the use of API key %s is noted later: the database is busy (%s)", key_id, exc)
            return


async def admit(db: Database, scope: Scope) -> Principal | DomainError:
    """The request's key (also kept in the scope), or the error to answer: 401, or 503 when the database could
    not answer in time."""
    known = scope.get(SCOPE_KEY)
    if isinstance(known, Principal):
        return known
    try:
        principal = await anyio.to_thread.run_sync(lookup, db, authorization_of(scope))
    except Unauthorized as exc:
        return exc
    except Exception as exc:  # the key lookup could not have its lock: 503, as every route answers
        if not is_transient(exc):
            raise
        return database_busy()
    scope[SCOPE_KEY] = principal
    return principal


class ApiKeyGate:
    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_api_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        found = await admit(self.db, scope)
        if isinstance(found, DomainError):
            await send_error(send, found)
            return
        await self.app(scope, receive, send)
