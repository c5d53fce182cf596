"""What the worker's loop runs between rounds of due work (`serve`'s in-process worker and `langganan worker`):
delivery_attempts' partitions created ahead (PostgreSQL), at most once an hour; and, when LANGGANAN_ARCHIVE_DIR is
set, the retention itself (`archive.archive` into that directory), at most once a day. Both by wall time. A
failure is logged and tried again at the next turn; an archive already running elsewhere is left to finish."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from langganan.config import Settings
from langganan.history import partitions
from langganan.history.archive import ArchiveBusy, Line, archive
from langganan.kit.db import Database

PARTITIONS_EVERY = timedelta(hours=1)
ARCHIVE_EVERY = timedelta(days=1)
log = logging.getLogger("langganan")


@dataclass
class Upkeep:
    partitions_at: datetime | None = field(default=None)  # when each may run next (None: at the first turn)
    archive_at: datetime | None = field(default=None)

    def run(self, db: Database, settings: Settings, now: datetime) -> tuple[list[partitions.Created], list[Line]]:
        """What this turn did: the partitions created and the archive's lines (both empty when not due)."""
        return self._partitions(db, now), self._archive(db, settings, now)

    def _partitions(self, db: Database, now: datetime) -> list[partitions.Created]:
        if self.partitions_at is not None and now < self.partitions_at:
            return []
        self.partitions_at = now + PARTITIONS_EVERY
        try:
            return partitions.maintain(db, now)
        except Exception:  # (a lock not granted in time, the database away): the next hour tries again
            log.exception("creating delivery_attempts' partitions ahead failed; tried again in an hour")
            return []

    def _archive(self, db: Database, settings: Settings, now: datetime) -> list[Line]:
        if settings.archive_dir is None or (self.archive_at is not None and now < self.archive_at):
            return []
        self.archive_at = now + ARCHIVE_EVERY
        try:
            lines = archive(db, settings, now, Path(settings.archive_dir))
        except ArchiveBusy as busy:
            log.info("retention left to the archive already running (%s)", busy)
            return []
        except Exception:
            log.exception("the daily archive failed; tried again tomorrow (or run `langganan archive`)")
            return []
        for line in lines:
            log.info("archived %s %s: %s %d rows", line.table, line.month, line.action, line.rows,
                     extra={"table": line.table, "month": line.month, "rows": line.rows})
        return lines
