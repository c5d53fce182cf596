from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from langganan.catalog.rules import WalletKind
from langganan.kit.db import Base
from langganan.kit.enums import text_column


class EntryType(StrEnum):
    GRANT = "grant"
    TOP_UP = "top_up"
    USAGE = "usage"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"


class ReservationStatus(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class Wallet(Base):
    """A prepaid wallet. `balance` is spendable credit and always equals the sum of its ledger.

    `granted_balance` is the part of `balance` that is free credit from the plan; it is spent first
    and expires at `granted_expires_at`. Paid credit (balance - granted_balance) never expires.
    `reserved` is what open reservations hold (already taken out of `balance` by their hold entry).
    """

    __tablename__ = "wallets"
    __table_args__ = (UniqueConstraint("account_id", "kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[WalletKind] = mapped_column(text_column(WalletKind, 20))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    granted_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    granted_expires_at: Mapped[datetime | None]
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
    # Usage alerts: this wallet's low-balance threshold (None: the configured default) and which
    # alerts have fired since the balance was last above their threshold (notifications.rules).
    low_balance_threshold: Mapped[int | None] = mapped_column(BigInteger)
    low_balance_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    depleted_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


USAGE_EVENT = text("type = 'usage'")


class WalletEntry(Base):
    """Append-only ledger, written only by `wallets.ledger`. `amount` is signed; `granted_amount` is
    the part that moved granted credit.

    A usage entry IS the accepted usage event (rule 7): `reference` is the event's id (unique among
    usage entries), `body_hash` what a repeat of the id is compared with, `occurred_at` as reported.
    """

    __tablename__ = "wallet_entries"
    __table_args__ = (Index("ix_wallet_entries_wallet", "wallet_id", "id"),
                      Index("ix_wallet_entries_wallet_type", "wallet_id", "type", "id"),
                      Index("ux_wallet_entries_usage_event", "reference", unique=True,
                            postgresql_where=USAGE_EVENT, sqlite_where=USAGE_EVENT))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    account_id: Mapped[str] = mapped_column(String(40))  # the wallet's (Citus: the distribution column)
    type: Mapped[EntryType] = mapped_column(text_column(EntryType, 30))
    amount: Mapped[int] = mapped_column(BigInteger)
    granted_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    meter: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    body_hash: Mapped[str | None] = mapped_column(String(32))  # usage entries only
    occurred_at: Mapped[datetime | None]  # usage entries only: when the SaaS says the message was sent


class SpendHour(Base):
    """What a wallet spent per UTC hour (usage, holds less releases): the daily-spend chart reads
    these few rows instead of scanning the ledger. Written by `wallets.ledger` with the entries (on
PostgreSQL in the same statement)."""

    __tablename__ = "wallet_spend_hours"

    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40))  # the wallet's
    amount: Mapped[int] = mapped_column(BigInteger)


class Reservation(Base):
    """Credit held for a broadcast campaign: capture what was delivered, release the rest."""

    __tablename__ = "reservations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    meter: Mapped[str] = mapped_column(String(40))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    held_granted: Mapped[int] = mapped_column(BigInteger)
    grant_expires_at: Mapped[datetime | None]
    captured_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[ReservationStatus] = mapped_column(text_column(ReservationStatus, 20))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
