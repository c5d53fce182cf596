"""The console's audit log: every operator action and every API call that changed money or plans — who (a staff
user or an API key), what, when, why, and the fields it changed before → after — newest first, filtered by
account, actor (id, email or key name), action prefix and a range of days, paged. Every role reads it; its CSV
export is with the others (console exports, `GET /v1/exports/audit.csv`)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from langganan.audit import repository
from langganan.audit.models import AuditEntry
from langganan.console.pages import PAGE_SIZE, ConsolePage
from langganan.exports import service as exports
from langganan.kit.errors import DomainError
from langganan.kit.openapi import api_router

router = api_router(prefix="/console/audit", include_in_schema=False)
FILTER_LENGTH = 320  # the longest filter value looked for (a staff email)


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field the entry names, in the order they first appear."""
    before, after = entry.before or {}, entry.after or {}
    fields = list(dict.fromkeys([*before, *after]))
    return [(f, before.get(f), after.get(f)) for f in fields]


@router.get("", response_class=HTMLResponse)
def audit_page(c: ConsolePage, account_id: str = "", actor: str = "", action: str = "", since: str = "",
               until: str = "", after: str | None = None) -> HTMLResponse:
    filters = {"account_id": account_id.strip()[:40], "actor": actor.strip()[:FILTER_LENGTH],
               "action": action.strip()[:80], "since": since.strip()[:10], "until": until.strip()[:10]}
    rows: list[AuditEntry] = []
    more, error = False, None
    try:
        start, end = exports.day_range(filters["since"], filters["until"], c.ctx.settings.seller_timezone)
        with c.ctx.unit() as (s, _now):
            rows, more = repository.search(s, account_id=filters["account_id"] or None,
                                           actor_id=filters["actor"] or None, action=filters["action"] or None,
                                           since=start, until=end, limit=PAGE_SIZE, starting_after=after or None)
    except DomainError as exc:
        error = exc
    return c.render("console/audit.html", rows=rows, more=more, filters=filters, error=error, changes=changes,
                    http_status=error.status if error else 200)
