"""Queries of the usage hot path, all in the caller's transaction: lock the wallets one `ingest()` call
touches and find earlier events of its ids (`lock_and_find`); then write its accepted events, their
ledger entries, the touched wallets' new balances and the hourly spend rollup (`write_accepted`).

On PostgreSQL both go straight to psycopg, as one statement each (the writes as data-modifying CTEs
fed by JSON documents): two round trips and two prepared plans whatever the number of events.
Elsewhere (SQLite) plain Core statements and executemany.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import psycopg
from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from langganan.usage.models import UsageEvent
from langganan.wallets import repository as wallets_repo
from langganan.wallets.models import Wallet, WalletEntry
from langganan.wallets.repository import LOCKED_COLUMNS, LockedWallet

USAGE_EVENTS = cast(Table, UsageEvent.__table__)
WALLET_ENTRIES = cast(Table, WalletEntry.__table__)
WALLETS = cast(Table, Wallet.__table__)


class Earlier(NamedTuple):
    """What a duplicate's answer needs of the stored event."""

    id: str
    body_hash: str
    amount: int
    balance_after: int


def _driver(session: Session) -> psycopg.Connection[Any] | None:
    """The psycopg connection under the session's transaction, or None on other databases."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    return cast(psycopg.Connection[Any], conn.connection.driver_connection)


# One statement, one round trip: the wallets locked (in id order, so concurrent calls never deadlock)
# and the earlier events, told apart by body_hash (NULL on wallet rows). The keys travel as JSON
# documents (see write_accepted).
_PG_LOCK_AND_FIND = f"""
WITH locked AS (
  SELECT {', '.join(LOCKED_COLUMNS)} FROM wallets
  WHERE (account_id, kind) IN (SELECT k.a, k.k FROM json_to_recordset(%(keys)s::json) AS k(a varchar, k varchar))
  ORDER BY id FOR UPDATE
)
SELECT {', '.join(LOCKED_COLUMNS)}, NULL::varchar AS body_hash FROM locked
UNION ALL
SELECT id, NULL, NULL, NULL, amount, balance_after, NULL, NULL, NULL, NULL, body_hash FROM usage_events
WHERE id = ANY(ARRAY(SELECT json_array_elements_text(%(ids)s::json)))
"""
_EARLIER = select(USAGE_EVENTS.c.id, USAGE_EVENTS.c.body_hash, USAGE_EVENTS.c.amount, USAGE_EVENTS.c.balance_after) \
    .where(USAGE_EVENTS.c.id.in_(bindparam("i", expanding=True)))


def lock_and_find(session: Session, wallet_keys: Sequence[tuple[str, str]], event_ids: Sequence[str],
                  ) -> tuple[list[LockedWallet], dict[str, Earlier]]:
    """Lock the wallets named by (account id, kind), in id order so concurrent calls never deadlock,
    and find the events already stored under these ids.

    On PostgreSQL both are one statement, so the lookup reads the statement's snapshot, taken before
    any wait for a lock: an id that the lock's previous holder committed meanwhile is not seen. Its
    insert then fails on the primary key and the caller retries (usage.endpoints.run_ingest), which
    sees it, exactly as when the same new id races in for another wallet."""
    pg = _driver(session)
    if pg is None:
        wallet_rows: Sequence[Any] = session.execute(
            select(*(WALLETS.c[c] for c in LOCKED_COLUMNS))
            .where(tuple_(WALLETS.c.account_id, WALLETS.c.kind).in_(list(wallet_keys)))
            .order_by(WALLETS.c.id).with_for_update()).all() if wallet_keys else []
        earlier = {row.id: Earlier(*row) for row in session.execute(_EARLIER, {"i": list(event_ids)})}
    else:
        rows = pg.execute(_PG_LOCK_AND_FIND, {"keys": _json([{"a": a, "k": k} for a, k in wallet_keys]),
                                              "ids": _json(event_ids)}).fetchall()
        wallet_rows = [row[:-1] for row in rows if row[-1] is None]
        earlier = {row[0]: Earlier(row[0], row[-1], row[4], row[5]) for row in rows if row[-1] is not None}
    wallets = [LockedWallet(*row) for row in wallet_rows]
    for w in wallets:  # as the ORM's UTC type reads them (SQLite hands back naive UTC, PostgreSQL the session zone)
        if w.granted_expires_at is not None:
            w.granted_expires_at = _utc(w.granted_expires_at)
    return wallets, earlier


def _json(value: Any) -> str:
    return json.dumps(value, default=datetime.isoformat, separators=(",", ":"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class Accepted:
    """What one ingest call accepted, gathered in request order."""

    events: list[dict[str, Any]] = field(default_factory=list)  # usage_events rows (without created_at)
    entries: list[dict[str, Any]] = field(default_factory=list)  # wallet_entries rows (without created_at)
    spend: dict[str, int] = field(default_factory=dict)  # wallet id -> amount spent in this call

    def add(self, event: dict[str, Any], entry: dict[str, Any]) -> None:
        self.events.append(event)
        self.entries.append(entry)
        self.spend[entry["wallet_id"]] = self.spend.get(entry["wallet_id"], 0) - entry["amount"]


_PG_WRITE = """
WITH balances AS (
  UPDATE wallets SET balance = n.balance, granted_balance = n.granted_balance, updated_at = %(now)s
  FROM json_to_recordset(%(wallets)s::json) AS n(id varchar, balance bigint, granted_balance bigint)
  WHERE wallets.id = n.id RETURNING 1
), events AS (
  INSERT INTO usage_events (id, account_id, meter, quantity, amount, balance_after, body_hash, occurred_at,
                            created_at)
  SELECT e.id, e.account_id, e.meter, e.quantity, e.amount, e.balance_after, e.body_hash, e.occurred_at, %(now)s
  FROM json_to_recordset(%(events)s::json) AS e(id varchar, account_id varchar, meter varchar, quantity bigint,
                                                amount bigint, balance_after bigint, body_hash varchar,
                                                occurred_at timestamptz)
  RETURNING 1
), entries AS (
  INSERT INTO wallet_entries (wallet_id, type, amount, granted_amount, balance_after, meter, quantity, reference,
                              created_at)
  SELECT x.wallet_id, x.type, x.amount, x.granted_amount, x.balance_after, x.meter, x.quantity, x.reference, %(now)s
  FROM ROWS FROM (json_to_recordset(%(entries)s::json) AS (wallet_id varchar, type varchar, amount bigint,
                  granted_amount bigint, balance_after bigint, meter varchar, quantity bigint, reference varchar))
       WITH ORDINALITY AS x(wallet_id, type, amount, granted_amount, balance_after, meter, quantity, reference, n)
  ORDER BY x.n
  RETURNING 1
), spend AS (
  INSERT INTO wallet_spend_hours (wallet_id, hour, amount)
  SELECT s.wallet_id, %(hour)s, s.amount FROM json_to_recordset(%(spend)s::json) AS s(wallet_id varchar, amount bigint)
  ON CONFLICT (wallet_id, hour) DO UPDATE SET amount = wallet_spend_hours.amount + excluded.amount
  RETURNING 1
)
SELECT (SELECT count(*) FROM balances), (SELECT count(*) FROM events), (SELECT count(*) FROM entries)
"""


def write_accepted(session: Session, touched: list[LockedWallet], accepted: Accepted, now: datetime,
                   hour: datetime) -> None:
    """Store what `ingest` accepted; `touched` hold their new balances."""
    pg = _driver(session)
    if pg is not None:
        # The rows travel as JSON documents: one text parameter each, which psycopg sends as is, where
        # lists would be turned into array literals one element at a time.
        params = {
            "now": now, "hour": hour,
            "wallets": _json([{"id": w.id, "balance": w.balance, "granted_balance": w.granted_balance}
                              for w in touched]),
            "events": _json(accepted.events), "entries": _json(accepted.entries),
            "spend": _json([{"wallet_id": w, "amount": a} for w, a in accepted.spend.items() if a]),
        }
        try:
            counts = pg.execute(_PG_WRITE, params).fetchone()
        except psycopg.IntegrityError as exc:  # as SQLAlchemy would raise it: the caller retries on it
            raise IntegrityError(_PG_WRITE, params, exc) from exc
        ev, en = accepted.events, accepted.entries
        if counts is None or tuple(counts) != (len(touched), len(ev), len(en)):
            raise AssertionError(f"usage write stored {counts}, expected {(len(touched), len(ev), len(en))}")
        return
    session.execute(update(WALLETS).where(WALLETS.c.id == bindparam("wid"))
                    .values(balance=bindparam("b"), granted_balance=bindparam("g"), updated_at=now),
                    [{"wid": w.id, "b": w.balance, "g": w.granted_balance} for w in touched])
    session.execute(insert(USAGE_EVENTS), [{**e, "created_at": now} for e in accepted.events])
    session.execute(insert(WALLET_ENTRIES), [{**x, "created_at": now} for x in accepted.entries])
    wallets_repo.add_spend(session, {(w, hour): amount for w, amount in accepted.spend.items()})
