"""delivery_attempts' monthly partitions on PostgreSQL (migration 0029): created ahead by the worker.

`maintain` makes sure this month and the next AHEAD months have their partition, each in a transaction of its own
that waits at most a few seconds for its locks (and is tried again at the next upkeep when it cannot have them). A
send whose month has no partition lands in delivery_attempts_default; when that month's partition is created the
rows are moved into it. On SQLite, or before migration 0029, it does nothing. `upkeep.Upkeep` runs it from the
worker's loop at most once an hour. Retention (dropping old months) is `archive`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from langganan.history import repository
from langganan.history.retention import add_months, month_start
from langganan.kit.db import Database

AHEAD = 2  # months after this one that have their partition
log = logging.getLogger("langganan")


@dataclass(frozen=True)
class Created:
    name: str
    moved: int  # rows moved in from the default partition


def maintain(db: Database, now: datetime) -> list[Created]:
    """Create the partitions missing for this month and the next AHEAD months (wall time, UTC months)."""
    with db.transaction() as session:
        if not repository.partitioned(session):
            return []
        have = set(repository.attached(session))
    created = []
    first = month_start(now)
    for n in range(AHEAD + 1):
        month = add_months(first, n)
        if repository.partition_name(month) in have:
            continue
        with db.transaction() as session:
            moved = repository.create_partition(session, month, add_months(month, 1))
        if moved is None:
            continue
        created.append(Created(repository.partition_name(month), moved))
        log.info("created partition %s of delivery_attempts (%d rows moved from the default partition)",
                 repository.partition_name(month), moved, extra={"partition": repository.partition_name(month)})
    return created
