"""One broken promise of the books."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Violation:
    code: str  # what is broken, e.g. wallet_balance_mismatch
    message: str  # a sentence with the numbers
    ids: dict[str, str] = field(default_factory=dict)  # the rows involved: {"wallet_id": ..., "invoice_id": ...}

    def __str__(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.ids.items())
        return f"{self.code}: {self.message}" + (f" ({where})" if where else "")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "ids": dict(self.ids)}
