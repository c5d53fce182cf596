"""Invoice lines as plain values, before they are issued."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None


def content_digest(content: Mapping[str, Any]) -> str:
    """A seal of an issued invoice's content (rule 12: issued invoices never change): SHA-256 of its
    canonical JSON, times as UTC instants. `langganan verify` recomputes it."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        raise TypeError(f"{type(value).__name__} is not part of an invoice's content")

    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()
