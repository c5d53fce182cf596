"""The notification steps of the worker loop: fan out new events, then send what is due.

Run by `serve`'s in-process worker, `langganan worker` and after the sandbox clock advances.
"""

from __future__ import annotations

from dataclasses import dataclass

from langganan.kit.batches import BatchSize
from langganan.kit.db import Database
from langganan.kit.stopping import Stopping, never
from langganan.notifications import service
from langganan.notifications.delivery import Courier, DeliveryReport

DISPATCH_BATCH = 200


@dataclass
class NotifyReport:
    dispatched: int
    delivered: DeliveryReport


def dispatch_all(db: Database, courier: Courier, stopping: Stopping = never) -> int:
    """Fan out every undispatched event, in batches of up to DISPATCH_BATCH that each last about
    `batch_seconds` (kit.batches), until none is left or `stopping()`."""
    total = 0
    size = BatchSize(DISPATCH_BATCH, courier.settings.batch_seconds)
    while not stopping():
        with size.timed() as limit, db.transaction() as session:
            claimed = service.dispatch(session, courier.wall(), limit)
        total += claimed
        if claimed < limit:
            break
    return total


def run_notifications(db: Database, courier: Courier, stopping: Stopping = never) -> NotifyReport:
    """Fan out, then send what is due; `stopping()` is asked between batches."""
    dispatched = dispatch_all(db, courier, stopping)
    return NotifyReport(dispatched=dispatched, delivered=courier.deliver_due(db, stopping))
