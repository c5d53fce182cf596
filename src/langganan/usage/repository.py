"""Writes of the usage hot path: the accepted events of one `ingest()` call, their ledger entries, the
touched wallets' new balances and the hourly spend rollup, all in the caller's transaction.

On PostgreSQL this is ONE statement (data-modifying CTEs fed by arrays): one round trip and one
prepared plan whatever the number of events. Elsewhere (SQLite, in-process) plain executemany.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from langganan.usage.models import UsageEvent
from langganan.wallets import repository as wallets_repo
from langganan.wallets.models import Wallet, WalletEntry

USAGE_EVENTS = cast(Table, UsageEvent.__table__)
WALLET_ENTRIES = cast(Table, WalletEntry.__table__)
WALLETS = cast(Table, Wallet.__table__)


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


_PG_WRITE = text("""
WITH balances AS (
  UPDATE wallets SET balance = n.b, granted_balance = n.g, updated_at = :now
  FROM unnest(CAST(:w_id AS varchar[]), CAST(:w_balance AS bigint[]), CAST(:w_granted AS bigint[])) AS n(id, b, g)
  WHERE wallets.id = n.id RETURNING 1
), events AS (
  INSERT INTO usage_events (id, account_id, meter, quantity, amount, balance_after, body_hash, occurred_at,
                            created_at)
  SELECT e.id, e.account_id, e.meter, e.quantity, e.amount, e.balance_after, e.body_hash, e.occurred_at, :now
  FROM unnest(CAST(:e_id AS varchar[]), CAST(:e_account AS varchar[]), CAST(:e_meter AS varchar[]),
              CAST(:e_quantity AS bigint[]), CAST(:e_amount AS bigint[]), CAST(:e_after AS bigint[]),
              CAST(:e_hash AS varchar[]), CAST(:e_occurred AS timestamptz[]))
       AS e(id, account_id, meter, quantity, amount, balance_after, body_hash, occurred_at)
  RETURNING 1
), entries AS (
  INSERT INTO wallet_entries (wallet_id, type, amount, granted_amount, balance_after, meter, quantity, reference,
                              created_at)
  SELECT x.wallet_id, 'usage', x.amount, x.granted, x.balance_after, x.meter, x.quantity, x.reference, :now
  FROM unnest(CAST(:x_wallet AS varchar[]), CAST(:x_amount AS bigint[]), CAST(:x_granted AS bigint[]),
              CAST(:e_after AS bigint[]), CAST(:e_meter AS varchar[]), CAST(:e_quantity AS bigint[]),
              CAST(:e_id AS varchar[])) WITH ORDINALITY
       AS x(wallet_id, amount, granted, balance_after, meter, quantity, reference, n)
  ORDER BY x.n
  RETURNING 1
), spend AS (
  INSERT INTO wallet_spend_hours (wallet_id, hour, amount)
  SELECT s.wallet_id, :hour, s.amount FROM unnest(CAST(:s_wallet AS varchar[]), CAST(:s_amount AS bigint[]))
       AS s(wallet_id, amount)
  ON CONFLICT (wallet_id, hour) DO UPDATE SET amount = wallet_spend_hours.amount + excluded.amount
  RETURNING 1
)
SELECT (SELECT count(*) FROM balances), (SELECT count(*) FROM events), (SELECT count(*) FROM entries)
""")


def write_accepted(session: Session, touched: list[Wallet], accepted: Accepted, now: datetime,
                   hour: datetime) -> None:
    """Store what `ingest` accepted. The touched wallets' ORM instances already hold their new
    balances; marking those committed keeps the session's flush from writing them again."""
    for w in touched:
        for attr in ("balance", "granted_balance", "updated_at"):
            set_committed_value(w, attr, getattr(w, attr))
    if session.get_bind().dialect.name == "postgresql":
        ev, en = accepted.events, accepted.entries
        spend = [(w, a) for w, a in accepted.spend.items() if a]  # as add_spend: no rows for nothing spent
        counts = session.execute(_PG_WRITE, {
            "now": now, "hour": hour,
            "w_id": [w.id for w in touched], "w_balance": [w.balance for w in touched],
            "w_granted": [w.granted_balance for w in touched],
            "e_id": [e["id"] for e in ev], "e_account": [e["account_id"] for e in ev],
            "e_meter": [e["meter"] for e in ev], "e_quantity": [e["quantity"] for e in ev],
            "e_amount": [e["amount"] for e in ev], "e_after": [e["balance_after"] for e in ev],
            "e_hash": [e["body_hash"] for e in ev], "e_occurred": [e["occurred_at"] for e in ev],
            "x_wallet": [x["wallet_id"] for x in en], "x_amount": [x["amount"] for x in en],
            "x_granted": [x["granted_amount"] for x in en],
            "s_wallet": [w for w, a in spend], "s_amount": [a for _, a in spend],
        }).one()
        if tuple(counts) != (len(touched), len(ev), len(en)):
            raise AssertionError(f"usage write stored {tuple(counts)} rows, expected "
                                 f"{(len(touched), len(ev), len(en))}")
        return
    session.execute(update(WALLETS).where(WALLETS.c.id == bindparam("wid"))
                    .values(balance=bindparam("b"), granted_balance=bindparam("g"), updated_at=now),
                    [{"wid": w.id, "b": w.balance, "g": w.granted_balance} for w in touched])
    session.execute(insert(USAGE_EVENTS), [{**e, "created_at": now} for e in accepted.events])
    session.execute(insert(WALLET_ENTRIES), [{**x, "created_at": now} for x in accepted.entries])
    wallets_repo.add_spend(session, {(w, hour): amount for w, amount in accepted.spend.items()})
