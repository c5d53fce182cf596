"""Advance the sandbox engine clock: one operation for the API, the console page and the CLI.

Moves the clock (never backwards, at most MAX_ADVANCE in one step), runs all the work that falls
due, in order, then sends the notifications that work announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.due import run_due
from langganan.kit.clock import MAX_ADVANCE, DatabaseClock
from langganan.kit.errors import NotFound, Unprocessable
from langganan.notifications.worker import run_notifications

if TYPE_CHECKING:
    from langganan.web.context import AppContext

MAX_DAYS = MAX_ADVANCE.days
MAX_HOURS = MAX_DAYS * 24


@dataclass(frozen=True)
class Advanced:
    now: datetime
    invoices_expired: int
    periods_rolled: int


def advance(ctx: AppContext, *, days: int = 0, hours: int = 0, to: datetime | None = None,
            by: Actor | None = None) -> Advanced:
    """Move the clock to `to`, or forward by `days` and `hours`, then run what falls due and notify. The move is
    in the audit log (`clock.advanced`) when `by` says who asked."""
    clock = ctx.clock
    if not isinstance(clock, DatabaseClock):
        raise NotFound("endpoint", "sandbox clock")
    if to is not None and to.tzinfo is None:
        raise Unprocessable("invalid_parameter", "`to` needs a UTC offset (RFC 3339).", param="to")
    if to is None and not days and not hours:
        raise Unprocessable("missing_parameter", "Give days, hours or to.", param="days")
    for name, value, most in (("days", days, MAX_DAYS), ("hours", hours, MAX_HOURS)):
        if not 0 <= value <= most:
            raise Unprocessable("invalid_parameter", f"{name} must be a whole number from 0 to {most}: the clock "
                                "moves at most 10 years in one step.", param=name)
    with ctx.unit() as (session, now):
        if to is not None:
            moved = clock.advance_to(session, to, param="to")
        else:  # (days and hours are bounded above: the sum cannot overflow before CLOCK_END refuses it)
            moved = clock.advance_to(session, now + timedelta(days=days, hours=hours),
                                     param="days" if days else "hours")
        if by is not None:
            audit.record(session, by, "clock.advanced", target_type="engine_clock", target_id="1", now=now,
                         before={"now": now.isoformat()}, after={"now": moved.isoformat()})
    work = ctx.background()  # batches that let waiting requests in between them (kit.db.Database.background)
    report = run_due(work)
    run_notifications(work.db, work.courier)  # send what the due work announced
    with ctx.unit() as (_session, now):
        return Advanced(now=now, invoices_expired=report.invoices_expired, periods_rolled=report.periods_rolled)
