"""The fast lane for `POST /v1/usage` (called once per message sent) and `POST /v1/usage/batch`.

A pure-ASGI layer in front of the whole application, framework middleware included (see
`app.LanggananAPI`). It answers a request itself only when it is the plain, common case: a bearer key, no
Idempotency-Key header, no query string, no NUL character and a
well-formed body. Then it skips the middleware stack, routing, dependency solving and response
re-validation: a single event goes to the group-commit writer, a batch (already one transaction)
straight to `ingest`, and it writes the same JSON the route would. Anything else (an unknown key, a
malformed body, an idempotent request, a NUL to refuse) goes on to the application unchanged, which
gives the full answers; both paths share `ingest`, the rejection table and the response models. An
error nobody expected is answered as the application's own handler answers it.

The key is checked on every request, against the database: inside the transaction that ingests the event
(one query for the whole group, `endpoints.run_keyed`), so a revoked key, or a rotated one past its overlap,
is refused (401) at once and nothing it sent is kept. Only a key this lane has not seen live yet is first
looked up as the gate does (`apikeys.gate.admit`: 401 before the body is read, so an anonymous client cannot
make the server read a body). The digests seen live are only that hint, never an authorization: a key in it is
checked with its event all the same.
"""

from __future__ import annotations

import anyio.to_thread
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan import logs
from langganan.apikeys.gate import admit, authorization_of
from langganan.apikeys.service import token_hash
from langganan.kit.asgi import read_body, replaying, send_error, send_json
from langganan.kit.db import Database
from langganan.kit.errors import DomainError, Unauthorized
from langganan.kit.nul import refused_body
from langganan.kit.web import unexpected_error
from langganan.usage.endpoints import Group, Keyed, rejection_error, to_usage_in
from langganan.usage.schemas import UsageBatchIn, UsageEventIn
from langganan.usage.service import UsageResult

SINGLE, BATCH = "/v1/usage", "/v1/usage/batch"
# UsageOut's JSON, written straight from the results (building the response models cost more than the rest)
_RESULT, _RESULTS = TypeAdapter(UsageResult), TypeAdapter(list[UsageResult])
SEEN_MAX = 10_000  # digests of keys seen live that the lane remembers (then it starts again)


def _refused() -> Unauthorized:
    return Unauthorized("invalid_api_key", "The API key is not valid.")


class UsageFastLane:
    def __init__(self, app: ASGIApp, group: Group, db: Database) -> None:
        self.app = app
        self.group = group
        self.db = db
        self.seen: set[str] = set()  # (a hint only: see the module)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in (SINGLE, BATCH) \
                or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        digest = token_hash(authorization_of(scope))
        if digest is None or any(name == b"idempotency-key" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        if digest not in self.seen:
            found = await admit(self.db, scope)
            if isinstance(found, DomainError):
                await send_error(send, found)
                return
            if len(self.seen) >= SEEN_MAX:
                self.seen.clear()
            self.seen.add(digest)
        try:
            body = await read_body(receive)
        except ClientDisconnect:  # gone, or refused by kit.bodylimit: nobody to answer
            return
        parsed = None if refused_body(scope, body) else _parse(scope["path"], body)
        if parsed is None:
            await self.app(scope, replaying(body, receive), send)
            return
        try:
            if isinstance(parsed, UsageBatchIn):
                await self._batch(send, parsed, digest)
            else:
                await self._single(send, parsed, digest)
        except Exception as exc:
            await unexpected_error(exc)(scope, receive, send)

    async def _single(self, send: Send, event: UsageEventIn, digest: str) -> None:
        logs.note_account(event.account_id)
        result = await self.group.submit(Keyed(digest, to_usage_in(event)))
        if result is None:
            self.seen.discard(digest)  # (its next request is refused before its body is read)
            await send_error(send, _refused())
            return
        if result.status == "rejected":
            error = rejection_error(result)
            await send_error(send, error)
            return
        status = 200 if result.status == "duplicate" else 201
        await send_json(send, status, _RESULT.dump_json(result))

    async def _batch(self, send: Send, batch: UsageBatchIn, digest: str) -> None:
        results = await anyio.to_thread.run_sync(self.group.run, [Keyed(digest, to_usage_in(e))
                                                                  for e in batch.events])
        accepted = [r for r in results if r is not None]
        if len(accepted) < len(results):  # (one key for the whole batch: all of it or none)
            self.seen.discard(digest)
            await send_error(send, _refused())
            return
        await send_json(send, 200, b'{"results":' + _RESULTS.dump_json(accepted) + b"}")


def _parse(path: str, body: bytes) -> UsageEventIn | UsageBatchIn | None:
    try:
        return UsageBatchIn.model_validate_json(body) if path == BATCH else UsageEventIn.model_validate_json(body)
    except ValidationError:
        return None
