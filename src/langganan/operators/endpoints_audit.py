"""The audit log over the API (admin keys only): every operator action and every API call that changed money or
plans, newest first, filtered by actor, account, action prefix and time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from langganan.audit import repository
from langganan.audit.models import AuditEntry
from langganan.kit.fields import Instant
from langganan.kit.openapi import api_router, errors
from langganan.kit.web import Limit, StartingAfter
from langganan.web.context import AdminKey, Ctx

router = api_router(prefix="/v1/audit-log", tags=["audit"])


class ActorOut(BaseModel):
    kind: str = Field(description="staff | api_key | system")
    id: str = Field(description="The staff user's or the key's id")
    label: str = Field(description="The staff email or the key's name, as it was then")


class TargetOut(BaseModel):
    type: str
    id: str


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    actor: ActorOut
    action: str = Field(description="e.g. invoice.marked_paid, credit_note.issued, api_key.revoked")
    target: TargetOut
    account_id: str | None
    reason: str | None
    before: dict[str, Any] | None = Field(description="The fields that changed, before")
    after: dict[str, Any] | None = Field(description="The fields that changed, after (and what was made)")


class AuditList(BaseModel):
    data: list[AuditEntryOut]
    has_more: bool


def entry_out(e: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(id=e.id, at=e.at, actor=ActorOut(kind=e.actor_kind.value, id=e.actor_id, label=e.actor_label),
                         action=e.action, target=TargetOut(type=e.target_type, id=e.target_id),
                         account_id=e.account_id, reason=e.reason, before=e.before, after=e.after)


@router.get("", response_model=AuditList, responses=errors(422), summary="The audit log, newest first")
def list_audit_log(ctx: Ctx, _: AdminKey,
                   actor: Annotated[str | None, Query(max_length=320, description="An actor's id, staff email or "
                                                                                  "key name")] = None,
                   account_id: Annotated[str | None, Query(max_length=40)] = None,
                   action: Annotated[str | None, Query(max_length=80, description="An action or its prefix, e.g. "
                                                                                  "`invoice.` or `api_key.revoked`")]
                   = None,
                   since: Annotated[Instant | None, Query(description="From this time (included)")] = None,
                   until: Annotated[Instant | None, Query(description="Before this time")] = None,
                   limit: Limit = 20, starting_after: StartingAfter = None) -> AuditList:
    with ctx.unit() as (s, _now):
        rows, more = repository.search(s, account_id=account_id, actor_id=actor, action=action, since=since,
                                       until=until, limit=limit, starting_after=starting_after)
        return AuditList(data=[entry_out(e) for e in rows], has_more=more)
