"""Idempotency keys (API.md): the same key and body replays the first response; the same key with
another body is 409 `idempotency_key_reused`. Records are kept at least 24 hours (wall time).

An answer of 500 or more (a crash, or 503 for a busy database) is not kept: the record is deleted, so
the client may retry with the same key. A database too busy to claim the key is answered 503. An answer that
carries a secret shown only once (`Cache-Control: no-store`, e.g. a new API key's token) is not kept either:
a repeat gets 409 `idempotent_answer_withheld` (the first request's work stands, its secret is nowhere stored)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langganan.kit.asgi import read_body, replaying, send_error, send_json
from langganan.kit.clock import wall_now
from langganan.kit.db import Database, is_transient
from langganan.kit.errors import database_busy
from langganan.kit.models import IdempotencyRecord

RETENTION = timedelta(hours=48)
FINISH_TRIES, FINISH_PAUSE = 4, 0.2  # keeping an answer: tries, and the pause before the next (times the tries so far)
log = logging.getLogger("langganan")
KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII; the column holds 255


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(body).encode()


def _err(code: str, message: str, status: int = 409) -> tuple[int, bytes]:
    return _json(status, {"error": {"type": "idempotency_error", "code": code, "message": message,
                                    "param": "Idempotency-Key"}})


_WITHHELD = _err("idempotent_answer_withheld", "The first request with this Idempotency-Key succeeded; its answer "
                 "held a secret shown only once, so it is not replayed.")
_INVALID_KEY = _err("invalid_idempotency_key", "An Idempotency-Key is 1 to 255 printable ASCII characters, "
                    "such as a UUID.", 400)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("idempotency-key")
        auth = headers.get("authorization")
        if not key or not auth:
            await self.app(scope, receive, send)
            return
        if not KEY.fullmatch(key):
            await send_json(send, *_INVALID_KEY)
            return
        try:
            body = await read_body(receive)
        except ClientDisconnect:  # nobody to answer
            return
        scope_id = hashlib.sha256(auth.encode()).hexdigest()[:40]
        request_hash = hashlib.sha256(scope["path"].encode() + b"\n" + body).hexdigest()
        try:
            replay = await anyio.to_thread.run_sync(self._claim, scope_id, key, request_hash)
        except Exception as exc:
            if not is_transient(exc):
                raise
            await send_error(send, database_busy())
            return
        if replay is not None:
            status, payload = replay
            await send_json(send, status, payload, [(b"idempotent-replayed", b"true")])
            return

        captured: dict[str, Any] = {"status": 500, "body": b"", "headers": []}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replaying(body, receive), capture_send)
        finally:
            status, kept = captured["status"], captured["body"]
            if status < 500 and (b"cache-control", b"no-store") in captured["headers"]:
                status, kept = _WITHHELD
            await anyio.to_thread.run_sync(self._finish, scope_id, key, status, kept)

    def _claim(self, scope_id: str, key: str, request_hash: str) -> tuple[int, bytes] | None:
        with self.db.sessions() as session:
            with session.begin():
                found = session.scalar(select(IdempotencyRecord).where(
                    IdempotencyRecord.api_key_id == scope_id, IdempotencyRecord.key == key))
                if found is not None:
                    if found.request_hash != request_hash:
                        return _err("idempotency_key_reused",
                                    "This Idempotency-Key was used with a different request body.")
                    if found.status_code is None:
                        return _err("idempotency_key_in_progress",
                                    "A request with this Idempotency-Key is still being processed.")
                    return found.status_code, (found.response_body or "").encode()
            try:
                with session.begin():
                    session.add(IdempotencyRecord(api_key_id=scope_id, key=key, request_hash=request_hash,
                                                  created_at=wall_now()))
            except IntegrityError:
                return _err("idempotency_key_in_progress",
                            "A request with this Idempotency-Key is still being processed.")
        return None

    def _finish(self, scope_id: str, key: str, status: int, body: bytes) -> None:
        """Keep the answer (or forget the key after a 5xx). The answer has been sent; no one waits for this, and
        a record left unfinished would answer `idempotency_key_in_progress` until purged: it waits as long as
        background work does, and a lost connection (the pool reconnects) is tried again a few times. What still
        fails is logged, not raised: the server has nothing left to answer."""
        for attempt in range(1, FINISH_TRIES + 1):
            try:
                self._record(scope_id, key, status, body)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt == FINISH_TRIES:
                    log.warning("the answer to Idempotency-Key %r could not be kept (%s); the key answers "
                                "idempotency_key_in_progress until purged", key, type(exc).__name__)
                    return
                time.sleep(FINISH_PAUSE * attempt)

    def _record(self, scope_id: str, key: str, status: int, body: bytes) -> None:
        with self.db.background.transaction() as session:
            record = session.scalar(select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == scope_id, IdempotencyRecord.key == key))
            if record is None:
                return
            if status >= 500:
                session.delete(record)  # nothing was done; the client may retry with the same key
            else:
                record.status_code = status
                record.response_body = body.decode()


PURGE_CHUNK = 1000


def purge_expired(db: Database) -> int:
    """Delete the records past retention, PURGE_CHUNK a transaction (each short: on SQLite every
    transaction holds the one write lock)."""
    cutoff, total = wall_now() - RETENTION, 0
    while True:
        with db.transaction() as session:
            ids = session.scalars(select(IdempotencyRecord.id).where(IdempotencyRecord.created_at < cutoff)
                                  .limit(PURGE_CHUNK)).all()
            if ids:
                session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
        total += len(ids)
        if len(ids) < PURGE_CHUNK:
            return total
