from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.kit.fields import ID_LENGTH, Instant


class UsageEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200, description="Your own id for the event; unique per deployment")
    account_id: str = Field(min_length=1, max_length=ID_LENGTH)
    meter: str = Field(min_length=1, max_length=40, description="conversation_reply or broadcast_message")
    quantity: StrictInt = Field(default=1, ge=1, le=1_000_000)
    # kept as sent (the duplicate check hashes it as sent); stored in UTC
    occurred_at: Instant | None = Field(
        default=None, description="When the message was sent, with a UTC offset; recorded, not used for pricing")


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
