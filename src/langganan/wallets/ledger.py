"""The ledger: the one place a wallet balance changes (DESIGN rules 5, 6, 7).

Every movement (a usage debit, a grant, an expiry, a top-up, a hold, a capture, a release, an
adjustment) is a `Movement` applied to a wallet row the caller holds locked. Applying it
(`Posting.apply`) checks the wallet's invariants (never below zero, granted credit within the
balance), moves the balances in memory and returns the balance after it; writing (`write`) stores
everything a posting applied at once: the ledger entries, the new balances and the hourly spend
rollup that the portal's daily-spend chart reads. `post` does both for callers with a few
movements (`wallets.service`); usage ingestion applies one posting per request or group of single
events and writes it once (`usage.service.ingest`).

On PostgreSQL a write is ONE statement whatever the number of movements (data-modifying CTEs fed by
JSON documents, on the session's own psycopg connection); elsewhere (SQLite) one executemany per
table.

A wallet row is either its ORM object (`Wallet`: the services' paths, which change other columns of
the row too) or a `LockedWallet` (plain values: the usage hot path). The write stores the balances of
plain rows itself; an ORM object's new balances are ordinary attribute changes that its session
flushes with the rest of the row (and forgets again if a savepoint rolls back).

A usage entry is the accepted usage event itself: its `reference` is the event id (unique among usage
entries: a second debit of one event cannot be stored), with the body hash a repeat is compared
with (`usage.repository.lock_and_find`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from langganan import metrics
from langganan.kit.work import Work
from langganan.wallets import watch
from langganan.wallets.models import EntryType, SpendHour, Wallet, WalletEntry
from langganan.wallets.repository import SPEND_TYPES, LockedWallet

WALLETS = cast(Table, Wallet.__table__)
ENTRIES = cast(Table, WalletEntry.__table__)
SPEND = cast(Table, SpendHour.__table__)

AnyWallet = Wallet | LockedWallet


@dataclass(frozen=True, slots=True)
class Movement:
    """`amount` (signed) moved on `wallet`, of which `granted` is granted credit; `at` when it happened
    (the posting's `now` unless given). A usage debit carries its event's `body_hash` and
    `occurred_at`, and its id as `reference`."""

    wallet: AnyWallet
    type: EntryType
    amount: int
    granted: int = 0
    meter: str | None = None
    quantity: int | None = None
    reference: str | None = None
    at: datetime | None = None
    body_hash: str | None = None
    occurred_at: datetime | None = None


class BrokenInvariant(AssertionError):
    """A movement would overdraw a wallet or put its granted credit outside 0..balance: a programming
    error (callers check `covers` first where a customer's request may ask for too much)."""


def covers(wallet: AnyWallet, amount: int) -> bool:
    """The wallet's balance covers a debit of `amount` (rule 6: no overdraft)."""
    return amount <= wallet.balance


def spend_hour(at: datetime) -> datetime:
    """The UTC hour a ledger entry's spending is counted in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class Posting:
    """Movements applied in memory to locked wallet rows, in order, and not yet written."""

    now: datetime
    # the entries' rows, without what is None (and without created_at when it is `now`)
    entries: list[dict[str, Any]] = field(default_factory=list)
    spend: dict[tuple[str, datetime], int] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # wallet id -> account id, for the spend rows
    touched: dict[str, AnyWallet] = field(default_factory=dict)
    # per (wallet kind, entry type): the rupiah taken out and put in, counted once the posting is committed
    moved: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    _hours: dict[datetime, datetime] = field(default_factory=dict)

    def apply(self, m: Movement) -> int:
        """Move the wallet; returns the balance after the movement."""
        wallet = m.wallet
        balance, granted_balance = wallet.balance + m.amount, wallet.granted_balance + m.granted
        if balance < 0 or granted_balance < 0 or granted_balance > balance:
            raise BrokenInvariant(f"wallet {wallet.id} would break its invariants")
        wallet.balance, wallet.granted_balance, wallet.updated_at = balance, granted_balance, self.now
        row = {"wallet_id": wallet.id, "account_id": wallet.account_id, "type": m.type, "amount": m.amount,
               "granted_amount": m.granted, "balance_after": balance}
        for column, value in (("meter", m.meter), ("quantity", m.quantity), ("reference", m.reference),
                              ("created_at", m.at), ("body_hash", m.body_hash), ("occurred_at", m.occurred_at)):
            if value is not None:
                row[column] = value
        self.entries.append(row)
        if m.type in SPEND_TYPES and m.amount:
            at = self.now if m.at is None else m.at
            hour = self._hours.get(at)
            if hour is None:
                hour = self._hours[at] = spend_hour(at)
            self.spend[(wallet.id, hour)] = self.spend.get((wallet.id, hour), 0) - m.amount
            self.owners[wallet.id] = wallet.account_id
        self.touched[wallet.id] = wallet
        key = (wallet.kind, m.type)
        out, into = self.moved.get(key, (0, 0))
        self.moved[key] = (out - m.amount, into) if m.amount < 0 else (out, into + m.amount)
        return balance


def post(session: Work, movements: Sequence[Movement], now: datetime) -> list[int]:
    """Apply `movements` in order and write them; returns each one's balance after it."""
    watch.balances_moving(session, {m.wallet.id: m.wallet for m in movements}.values(), now)
    posting = Posting(now)
    after = [posting.apply(m) for m in movements]
    plain = any(isinstance(w, LockedWallet) for w in posting.touched.values())
    if session.collecting and not posting.spend and not plain:
        # a due batch collecting its writes (kit.db.one_flush): the ORM rows' balances go with its flush,
        # and the entries with its outbox, in order, all in one statement before it commits
        for row in posting.entries:
            session.outbox.add(ENTRIES, _entry_row(row, now))
        _count(session, posting)
    else:
        write(session, posting)
    return after


def write(session: Work, posting: Posting) -> None:
    """Store what `posting` applied: its entries in order, the plain rows' balances, the spend rollup."""
    if not posting.entries:
        return
    _count(session, posting)
    plain = [w for w in posting.touched.values() if isinstance(w, LockedWallet)]
    pg = driver(session)
    if pg is not None:
        _write_pg(pg, posting, plain)
        return
    if plain:
        session.execute(update(WALLETS).where(WALLETS.c.id == bindparam("wid")).values(
            balance=bindparam("b"), granted_balance=bindparam("g"), granted_expires_at=bindparam("x"),
            updated_at=posting.now), [{"wid": w.id, "b": w.balance, "g": w.granted_balance,
                                       "x": w.granted_expires_at} for w in plain])
    session.execute(insert(ENTRIES), [_entry_row(row, posting.now) for row in posting.entries])
    rows = spend_rows(posting)
    if rows:
        session.execute(_SQLITE_SPEND, rows)


def _count(session: Work, posting: Posting) -> None:
    """The posting's movements, in the metrics once its transaction commits."""
    moved = posting.moved
    session.on_commit(lambda: metrics.wallets_moved(moved))


def spend_rows(posting: Posting) -> list[dict[str, Any]]:
    return [{"wallet_id": w, "account_id": posting.owners[w], "hour": h, "amount": a}
            for (w, h), a in posting.spend.items() if a]


def _sqlite_spend() -> Any:
    stmt = sqlite.insert(SPEND)
    return stmt.on_conflict_do_update(index_elements=["wallet_id", "hour"],
                                      set_={"amount": SPEND.c.amount + stmt.excluded.amount})


_SQLITE_SPEND = _sqlite_spend()

_ABSENT = dict.fromkeys(("meter", "quantity", "reference", "body_hash", "occurred_at"))


def _entry_row(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A posting's entry with every column (what it left out is None; created_at `now` unless given)."""
    return {**_ABSENT, "created_at": now, **row}
_ENTRY_COLUMNS = ("wallet_id", "account_id", "type", "amount", "granted_amount", "balance_after", "meter", "quantity",
                  "reference", "created_at", "body_hash", "occurred_at")
_ENTRY_TYPES = ("varchar", "varchar", "varchar", "bigint", "bigint", "bigint", "varchar", "bigint", "varchar",
                "timestamptz", "varchar", "timestamptz")

# One statement, one round trip: the plain rows' balances, the entries (in order: ids follow it) and the
# hourly spend. The rows travel as JSON documents: one text parameter each, which psycopg sends as is,
# where lists would be turned into array literals one element at a time.
_PG_WRITE = f"""
WITH balances AS (
  UPDATE wallets SET balance = n.balance, granted_balance = n.granted_balance,
                     granted_expires_at = n.granted_expires_at, updated_at = %(now)s
  FROM json_to_recordset(%(wallets)s::json) AS n(id varchar, balance bigint, granted_balance bigint,
                                                 granted_expires_at timestamptz)
  WHERE wallets.id = n.id RETURNING 1
), entries AS (
  INSERT INTO wallet_entries ({', '.join(_ENTRY_COLUMNS)})
  SELECT {', '.join(f'COALESCE(x.{c}, %(now)s)' if c == 'created_at' else f'x.{c}' for c in _ENTRY_COLUMNS)}
  FROM ROWS FROM (json_to_recordset(%(entries)s::json) AS ({', '.join(
      f'{c} {t}' for c, t in zip(_ENTRY_COLUMNS, _ENTRY_TYPES, strict=True))}))
       WITH ORDINALITY AS x({', '.join(_ENTRY_COLUMNS)}, n)
  ORDER BY x.n
  RETURNING 1
), spend AS (
  INSERT INTO wallet_spend_hours (wallet_id, account_id, hour, amount)
  SELECT s.wallet_id, s.account_id, s.hour, s.amount
  FROM json_to_recordset(%(spend)s::json) AS s(wallet_id varchar, account_id varchar, hour timestamptz, amount bigint)
  ON CONFLICT (wallet_id, hour) DO UPDATE SET amount = wallet_spend_hours.amount + excluded.amount
  RETURNING 1
)
SELECT (SELECT count(*) FROM balances), (SELECT count(*) FROM entries)
"""


def _write_pg(pg: psycopg.Connection[Any], posting: Posting, plain: list[LockedWallet]) -> None:
    params = {
        "now": posting.now,
        "wallets": _json([{"id": w.id, "balance": w.balance, "granted_balance": w.granted_balance,
                           "granted_expires_at": w.granted_expires_at} for w in plain]),
        "entries": _json(posting.entries),
        "spend": _json(spend_rows(posting)),
    }
    try:
        counts = pg.execute(_PG_WRITE, params).fetchone()
    except psycopg.IntegrityError as exc:  # as SQLAlchemy would raise it: usage retries on it
        raise IntegrityError(_PG_WRITE, params, exc) from exc
    if counts is None or tuple(counts) != (len(plain), len(posting.entries)):
        raise AssertionError(f"ledger write stored {counts}, expected {(len(plain), len(posting.entries))}")


def driver(session: Work) -> psycopg.Connection[Any] | None:
    """The psycopg connection under the session's transaction, or None on other databases."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    return cast(psycopg.Connection[Any], conn.connection.driver_connection)


def _json(value: Any) -> str:
    return json.dumps(value, default=datetime.isoformat, separators=(",", ":"))
