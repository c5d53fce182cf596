"""The fast lane for `POST /v1/usage` (called once per message sent) and `POST /v1/usage/batch`.

A pure-ASGI layer in front of the whole application, framework middleware included (see
`app.LanggananAPI`). It answers a request itself only when it is the plain, common case: a key
already known (cached), no Idempotency-Key header, no query string, no NUL character and a
well-formed body. Then it skips the middleware stack, routing, dependency solving and response
re-validation: a single event goes to the group-commit writer, a batch (already one transaction)
straight to `ingest`, and it writes the same JSON the route would. Anything else (an unknown key, a
malformed body, an idempotent request, a NUL to refuse) goes on to the application unchanged, which
gives the full answers; both paths share `ingest`, the rejection table and the response models. An
error nobody expected is answered as the application's own handler answers it.
"""

from __future__ import annotations

import anyio.to_thread
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan import logs
from langganan.apikeys.service import cached_principal
from langganan.kit.asgi import read_body, replaying, send_error, send_json
from langganan.kit.nul import refused_body
from langganan.kit.web import unexpected_error
from langganan.usage.endpoints import rejection_error, to_usage_in
from langganan.usage.grouping import GroupedIngest
from langganan.usage.schemas import UsageBatchIn, UsageEventIn
from langganan.usage.service import UsageResult

SINGLE, BATCH = "/v1/usage", "/v1/usage/batch"
# UsageOut's JSON, written straight from the results (building the response models cost more than the rest)
_RESULT, _RESULTS = TypeAdapter(UsageResult), TypeAdapter(list[UsageResult])


class UsageFastLane:
    def __init__(self, app: ASGIApp, group: GroupedIngest) -> None:
        self.app = app
        self.group = group

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in (SINGLE, BATCH) \
                or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"idempotency-key":
                await self.app(scope, receive, send)
                return
        if cached_principal(authorization) is None:
            await self.app(scope, receive, send)
            return
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
                await self._batch(send, parsed)
            else:
                await self._single(send, parsed)
        except Exception as exc:
            await unexpected_error(exc)(scope, receive, send)

    async def _single(self, send: Send, event: UsageEventIn) -> None:
        logs.note_account(event.account_id)
        result = await self.group.submit(to_usage_in(event))
        if result.status == "rejected":
            error = rejection_error(result)
            await send_error(send, error)
            return
        status = 200 if result.status == "duplicate" else 201
        await send_json(send, status, _RESULT.dump_json(result))

    async def _batch(self, send: Send, batch: UsageBatchIn) -> None:
        results = await anyio.to_thread.run_sync(self.group.run, [to_usage_in(e) for e in batch.events])
        await send_json(send, 200, b'{"results":' + _RESULTS.dump_json(results) + b"}")


def _parse(path: str, body: bytes) -> UsageEventIn | UsageBatchIn | None:
    try:
        return UsageBatchIn.model_validate_json(body) if path == BATCH else UsageEventIn.model_validate_json(body)
    except ValidationError:
        return None
