"""The fast lane for `POST /v1/usage`, the one endpoint called once per message sent.

A pure-ASGI middleware in front of the framework. It answers a request itself only when it is the
plain, common case: a key already known (cached), no Idempotency-Key header, and a body that is a
valid usage event. Then it skips routing, dependency solving and response validation, hands the
event to the group-commit writer and writes the same JSON the route would. Anything else (an
unknown key, a malformed body, an idempotent request) goes on to the FastAPI route unchanged, which
gives the full error answers; both paths share `ingest`, the rejection table and the response model.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from langganan.apikeys.service import cached_principal
from langganan.kit.asgi import read_body, replaying, send_json
from langganan.usage.endpoints import rejection_error
from langganan.usage.grouping import GroupedIngest
from langganan.usage.schemas import UsageEventIn, UsageOut
from langganan.usage.service import UsageIn

PATH = "/v1/usage"


class UsageFastLane:
    def __init__(self, app: ASGIApp, group: GroupedIngest) -> None:
        self.app = app
        self.group = group

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
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
        body = await read_body(receive)
        try:
            event = UsageEventIn.model_validate_json(body)
        except ValidationError:
            await self.app(scope, replaying(body, receive), send)
            return
        result = await self.group.submit(UsageIn(event.id, event.account_id, event.meter, event.quantity,
                                                 event.occurred_at))
        if result.status == "rejected":
            error = rejection_error(result)
            await send_json(send, error.status, error.body())
            return
        status = 200 if result.status == "duplicate" else 201
        await send_json(send, status, UsageOut(**result.__dict__).model_dump_json().encode())
