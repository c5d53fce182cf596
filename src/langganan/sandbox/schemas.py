"""Bodies of the sandbox routes (/v1/sandbox/*)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.kit.fields import CURRENCY, Instant
from langganan.sandbox.clock import MAX_DAYS, MAX_HOURS


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=12, max_length=23)
    exp_month: StrictInt
    exp_year: StrictInt
    cvc: str = Field(min_length=3, max_length=4)


class CardToken(BaseModel):
    provider_token: str


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    va_number: str = Field(min_length=4, max_length=40)
    amount: StrictInt = Field(gt=0, le=10**15, description="What the simulated bank pays, in the minor unit")
    currency: str = Field(default="IDR", pattern=CURRENCY, description="ISO 4217 code, e.g. IDR")


class QrisPaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_id: str = Field(min_length=4, max_length=40, description="The QRIS payment whose code is scanned")
    amount: StrictInt = Field(gt=0, le=10**15, description="What the customer's app pays, in the minor unit")
    currency: str = Field(default="IDR", pattern=CURRENCY, description="ISO 4217 code, e.g. IDR")


class QrisPaymentOut(BaseModel):
    payment_id: str
    amount: int
    outcome: str = Field(description="What the signed callback did: applied, held_late, duplicate, ...")


class TransferOut(BaseModel):
    va_number: str
    amount: int
    outcome: str = Field(description="What the signed callback did: applied, held_late, duplicate, ...")


class ClockOut(BaseModel):
    now: datetime
    invoices_expired: int = 0
    periods_rolled: int = 0


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: StrictInt | None = Field(default=None, ge=0, le=MAX_DAYS)
    hours: StrictInt | None = Field(default=None, ge=0, le=MAX_HOURS)
    to: Instant | None = Field(default=None, description="Move the clock to this time (never backwards)")
