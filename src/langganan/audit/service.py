"""The audit log's one writer. The caller records the entry inside the unit of work that made the change, so
an action and its entry commit together or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langganan.audit.models import ActorKind, AuditEntry
from langganan.kit.errors import Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work

REASON_LENGTH = 500  # audit_entries.reason


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    label: str

    @property
    def tag(self) -> str:
        """How other records name who acted (e.g. a held payment's `decided_by`)."""
        return f"{self.kind.value}:{self.label}"


def require_reason(reason: str) -> str:
    """A console action's reason: required, trimmed, at most REASON_LENGTH characters."""
    reason = reason.strip()
    if not reason:
        raise Unprocessable("reason_required", "Say why (the audit log keeps it).", param="reason")
    if len(reason) > REASON_LENGTH:
        raise Unprocessable("reason_too_long", f"A reason is at most {REASON_LENGTH} characters.", param="reason")
    return reason


def record(session: Work, actor: Actor, action: str, *, target_type: str, target_id: str, now: datetime,
           account_id: str | None = None, reason: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    entry = AuditEntry(id=new_id("aud"), at=now, actor_kind=actor.kind, actor_id=actor.id,
                       actor_label=actor.label[:320], action=action, target_type=target_type, target_id=target_id,
                       account_id=account_id, reason=reason[:REASON_LENGTH] if reason else None,
                       before=before, after=after)
    session.add(entry)
    return entry


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after): what an entry keeps of two views of its target."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
