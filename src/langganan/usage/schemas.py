from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, field_validator


class UsageEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200, description="Your own id for the event; unique per deployment")
    account_id: str = Field(min_length=1, max_length=40)
    meter: str = Field(min_length=1, max_length=40, description="conversation_reply or broadcast_message")
    quantity: StrictInt = Field(default=1, ge=1, le=1_000_000)
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the message was sent, with a UTC offset; recorded, not used for pricing")

    @field_validator("occurred_at")
    @classmethod
    def _storable(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC: an instant that has none (year 1 or 9999 at the edge of an offset) is refused here.
        The value itself is kept as sent (the duplicate check hashes it as sent)."""
        if value is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("occurred_at is out of range") from None
        return value


class UsageBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[UsageEventIn] = Field(min_length=1, max_length=1000)


class UsageOut(BaseModel):
    id: str
    status: str = Field(description="accepted, duplicate or rejected")
    code: str | None = None
    message: str | None = None
    amount: int | None = None
    balance_after: int | None = None


class UsageBatchOut(BaseModel):
    results: list[UsageOut]
