"""Queries of the usage hot path, in the caller's transaction: lock the wallets one `ingest()` call
touches and find the debits already stored under its event ids (`lock_and_find`). What ingest
accepts is written by the ledger (`wallets.ledger.write`): a usage debit is the stored event.

On PostgreSQL both go straight to psycopg as one statement (one round trip, one prepared plan
whatever the number of events); elsewhere (SQLite) two plain Core statements.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select, tuple_

from langganan.kit.work import Work
from langganan.wallets.ledger import driver
from langganan.wallets.models import Wallet, WalletEntry
from langganan.wallets.repository import LOCKED_COLUMNS, LockedWallet

WALLET_ENTRIES = cast(Table, WalletEntry.__table__)
WALLETS = cast(Table, Wallet.__table__)


class Earlier(NamedTuple):
    """What a duplicate's answer needs of the stored event: its usage debit."""

    id: str
    body_hash: str
    amount: int  # the price (the debit's amount, negated)
    balance_after: int


# One statement, one round trip: the wallets locked (in id order, so concurrent calls never deadlock)
# and the earlier usage debits, told apart by body_hash (NULL on wallet rows). The keys travel as JSON
# documents (see wallets.ledger).
_PG_LOCK_AND_FIND = f"""
WITH locked AS (
  SELECT {', '.join(LOCKED_COLUMNS)} FROM wallets
  WHERE (account_id, kind) IN (SELECT k.a, k.k FROM json_to_recordset(%(keys)s::json) AS k(a varchar, k varchar))
  ORDER BY id FOR UPDATE
)
SELECT {', '.join(LOCKED_COLUMNS)}, NULL::varchar AS body_hash FROM locked
UNION ALL
SELECT reference, NULL, NULL, NULL, -amount, balance_after, NULL, NULL, NULL, NULL, COALESCE(body_hash, '')
FROM wallet_entries
WHERE type = 'usage' AND reference = ANY(ARRAY(SELECT json_array_elements_text(%(ids)s::json)))
"""
_EARLIER = select(WALLET_ENTRIES.c.reference, WALLET_ENTRIES.c.body_hash, -WALLET_ENTRIES.c.amount,
                  WALLET_ENTRIES.c.balance_after) \
    .where(WALLET_ENTRIES.c.type == "usage", WALLET_ENTRIES.c.reference.in_(bindparam("i", expanding=True)))


def lock_and_find(session: Work, wallet_keys: Sequence[tuple[str, str]], event_ids: Sequence[str],
                  ) -> tuple[list[LockedWallet], dict[str, Earlier]]:
    """Lock the wallets named by (account id, kind), in id order so concurrent calls never deadlock,
    and find the usage debits already stored under these event ids.

    On PostgreSQL both are one statement, so the lookup reads the statement's snapshot, taken before
    any wait for a lock: an id that the lock's previous holder committed meanwhile is not seen. Its
    insert then fails on the unique index and the caller retries (usage.endpoints.run_ingest), which
    sees it, exactly as when the same new id races in for another wallet."""
    pg = driver(session)
    if pg is None:
        wallet_rows: Sequence[Any] = session.execute(
            select(*(WALLETS.c[c] for c in LOCKED_COLUMNS))
            .where(tuple_(WALLETS.c.account_id, WALLETS.c.kind).in_(list(wallet_keys)))
            .order_by(WALLETS.c.id).with_for_update()).all() if wallet_keys else []
        earlier = {row[0]: Earlier(*row) for row in session.execute(_EARLIER, {"i": list(event_ids)})}
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
    return json.dumps(value, separators=(",", ":"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
