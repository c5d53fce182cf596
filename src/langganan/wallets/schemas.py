from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from langganan.catalog.rules import WalletKind
from langganan.kit.fields import INT64_MAX, Id
from langganan.wallets.models import EntryType, Reservation, ReservationStatus, Wallet, WalletEntry
from langganan.wallets.rules import low_balance_threshold


class WalletOut(BaseModel):
    kind: WalletKind
    balance: int = Field(description="Spendable credit (granted + paid); holds are already taken out")
    granted_balance: int
    paid_balance: int
    granted_expires_at: datetime | None
    reserved: int
    currency: str
    low_balance_threshold: int = Field(description="wallet.low_balance fires when the balance drops to this or "
                                                   "below (0: never); the configured default unless set")


class WalletSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low_balance_threshold: StrictInt | None = Field(ge=0, le=10**12, description="In the minor unit; null goes back "
                                                    "to the configured default, 0 turns low-balance alerts off")


class WalletList(BaseModel):
    data: list[WalletOut]
    has_more: bool = False


class EntryOut(BaseModel):
    id: str
    type: EntryType
    amount: int = Field(description="Signed: credit in, debit out")
    granted_amount: int
    balance_after: int
    meter: str | None
    quantity: int | None
    reference: str | None
    created_at: datetime


class EntryList(BaseModel):
    data: list[EntryOut]
    has_more: bool


class TopUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: str = Field(max_length=20, description="conversation or broadcast")
    amount: StrictInt = Field(ge=-INT64_MAX, le=INT64_MAX,
                              description="Rupiah; conversation 30.000-1.000.000, broadcast 10.000-5.000.000")
    payment_method: str = Field(default="bank_transfer", max_length=20)
    payment_method_id: Id | None = None
    bank: str | None = Field(default=None, max_length=20)


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: Id
    meter: str = Field(min_length=1, max_length=40)
    quantity: StrictInt = Field(ge=1, le=10_000_000)
    expires_in_seconds: StrictInt | None = Field(default=None, ge=1, le=604_800,
                                                  description="How long the hold lasts, 1 s to 7 days (default 24 h)")


class CaptureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: StrictInt = Field(ge=0, le=INT64_MAX)


class ReservationOut(BaseModel):
    id: str
    account_id: str
    meter: str
    quantity: int
    amount: int
    captured_quantity: int
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime


def wallet_out(w: Wallet, thresholds: Mapping[str, int]) -> WalletOut:
    """`thresholds`: the deployment's default low-balance thresholds by kind (Settings.low_balance_thresholds)."""
    return WalletOut(kind=w.kind, balance=w.balance, granted_balance=w.granted_balance,
                     paid_balance=w.balance - w.granted_balance, granted_expires_at=w.granted_expires_at,
                     reserved=w.reserved, currency=w.currency,
                     low_balance_threshold=low_balance_threshold(w, thresholds))


def entry_out(e: WalletEntry) -> EntryOut:
    return EntryOut(id=str(e.id), type=e.type, amount=e.amount, granted_amount=e.granted_amount,
                    balance_after=e.balance_after, meter=e.meter, quantity=e.quantity, reference=e.reference,
                    created_at=e.created_at)


def reservation_out(r: Reservation) -> ReservationOut:
    return ReservationOut(id=r.id, account_id=r.account_id, meter=r.meter, quantity=r.quantity, amount=r.amount,
                          captured_quantity=r.captured_quantity, status=r.status, expires_at=r.expires_at,
                          created_at=r.created_at)
