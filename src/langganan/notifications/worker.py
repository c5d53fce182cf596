"""The notification steps of the worker loop: fan out new events, then send what is due.

Run by `serve`'s in-process worker, `langganan worker` and after the sandbox clock advances.
"""

from __future__ import annotations

from dataclasses import dataclass

from langganan.kit.batches import BatchSize
from langganan.kit.db import Database
from langganan.notifications import service
from langganan.notifications.delivery import Courier, DeliveryReport

DISPATCH_BATCH = 200


@dataclass
class NotifyReport:
    dispatched: int
    delivered: DeliveryReport


def dispatch_all(db: Database, courier: Courier) -> int:
    """Fan out every undispatched event, in batches of up to DISPATCH_BATCH that each last about
    `batch_seconds` (kit.batches)."""
    total = 0
    size = BatchSize(DISPATCH_BATCH, courier.settings.batch_seconds)
    while True:
        with size.timed() as limit, db.transaction() as session:
            claimed = service.dispatch(session, courier.wall(), limit)
        total += claimed
        if claimed < limit:
            return total


def run_notifications(db: Database, courier: Courier) -> NotifyReport:
    dispatched = dispatch_all(db, courier)
    return NotifyReport(dispatched=dispatched, delivered=courier.deliver_due(db))
