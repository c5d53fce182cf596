"""One engine clock (DESIGN rule 14).

The engine clock decides billing. In live mode it is wall time. In sandbox mode it is wall time
plus an offset stored in the database, shared by every process and only ever moved forward.
Wall time (`wall_now`) decides transport and security only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

MAX_ADVANCE = timedelta(days=3660)  # the sandbox clock moves at most about 10 years in one step
# The sandbox clock goes no further: billing computes periods, renewals and notices years ahead of the
# clock, and Python's datetimes end in 9999.
CLOCK_END = datetime(9000, 1, 1, tzinfo=UTC)


def wall_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self, session: Session) -> datetime: ...


class WallClock:
    """Live mode: the engine clock is wall time."""

    def now(self, session: Session) -> datetime:
        return wall_now()


class DatabaseClock:
    """Sandbox mode: wall time + an offset kept in the `engine_clock` row (or a frozen instant)."""

    def now(self, session: Session) -> datetime:
        from langganan.kit.models import EngineClock

        row = session.execute(select(EngineClock.offset_seconds, EngineClock.frozen_at)
                              .where(EngineClock.id == 1)).first()
        if row is None:
            return wall_now()
        if row.frozen_at is not None:
            return row.frozen_at
        return wall_now() + timedelta(seconds=row.offset_seconds)

    def advance_to(self, session: Session, target: datetime, *, param: str = "to") -> datetime:
        """Move the clock to `target`: never backwards, at most MAX_ADVANCE ahead. `param` names the
        caller's input in the error."""
        from langganan.kit.errors import Conflict, Unprocessable
        from langganan.kit.models import EngineClock

        row = session.get(EngineClock, 1, with_for_update=True)
        if row is None:
            row = EngineClock(id=1, offset_seconds=0)
            session.add(row)
            session.flush()
        current = row.frozen_at or wall_now() + timedelta(seconds=row.offset_seconds)
        if target < current:
            raise Conflict("clock_backwards", "The engine clock never moves backwards.", param=param)
        if target - current > MAX_ADVANCE:
            raise Unprocessable("invalid_parameter", "The clock moves at most 10 years in one step.", param=param)
        if target > CLOCK_END:
            raise Unprocessable("invalid_parameter", f"The sandbox clock stops at {CLOCK_END.date()}.", param=param)
        if row.frozen_at is not None:
            row.frozen_at = target
        else:
            row.offset_seconds += int((target - current).total_seconds() + 0.999)
        session.flush()
        return self.now(session)

