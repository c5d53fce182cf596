"""The ledger (wallets/ledger.py) on each backend: many movements posted at once are applied in order
with their balance checks and written together (entries in order, balances, the hourly spend), and a
single movement takes the same path; a movement that would overdraw writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from langganan.wallets import ledger, repository
from langganan.wallets import service as wallets
from langganan.wallets.ledger import BrokenInvariant, Movement
from langganan.wallets.models import SpendHour, Wallet, WalletEntry
from langganan.wallets.repository import LOCKED_COLUMNS, LockedWallet
from tests.conftest import Env


def _wallets(env: Env, account_id: str) -> dict[str, str]:
    with env.db.transaction() as s:
        return {w.kind: w.id for w in repository.for_account(s, account_id)}


def _entries(env: Env, wallet_id: str) -> list[tuple[str, int, int, int]]:
    with env.db.transaction() as s:
        return [(e.type, e.amount, e.granted_amount, e.balance_after) for e in s.scalars(
            select(WalletEntry).where(WalletEntry.wallet_id == wallet_id).order_by(WalletEntry.id))]


def test_many_movements_on_two_wallets_are_one_posting_in_order(env: Env) -> None:
    acc = env.account()["id"]
    ids = _wallets(env, acc)
    now, n = env.now(), len(_entries(env, ids["conversation"]))
    with env.db.transaction() as s:
        conv = repository.get(s, acc, "conversation", for_update=True)
        bro = repository.get(s, acc, "broadcast", for_update=True)
        c0, g0, b0 = conv.balance, conv.granted_balance, bro.balance  # (the Free plan's grant)
        after = ledger.post(s, [
            Movement(conv, "adjustment", 1000, reference="opening"),
            Movement(bro, "top_up", 500, reference="inv_1"),
            Movement(conv, "grant", 300, 300, reference="plan"),
            Movement(conv, "usage", -400, -300, "conversation_reply", 1, "evt-1", body_hash="h" * 32),
            Movement(bro, "hold", -200, 0, "broadcast_message", 2, "res_1"),
            Movement(bro, "release", 50, 0, "broadcast_message", 1, "res_1"),
        ], now)
        assert after == [c0 + 1000, b0 + 500, c0 + 1300, c0 + 900, b0 + 300, b0 + 350]
    with env.db.transaction() as s:
        stored = {w.kind: (w.balance, w.granted_balance) for w in repository.for_account(s, acc)}
        spend = dict(s.execute(select(SpendHour.wallet_id, func.sum(SpendHour.amount)).group_by(SpendHour.wallet_id)
                               .where(SpendHour.wallet_id.in_(list(ids.values())))).all())
    assert stored == {"conversation": (c0 + 900, g0), "broadcast": (b0 + 350, 0)}
    assert _entries(env, ids["conversation"])[n:] == [("adjustment", 1000, 0, c0 + 1000),
                                                      ("grant", 300, 300, c0 + 1300), ("usage", -400, -300, c0 + 900)]
    assert _entries(env, ids["broadcast"])[-3:] == [("top_up", 500, 0, b0 + 500), ("hold", -200, 0, b0 + 300),
                                                    ("release", 50, 0, b0 + 350)]
    assert spend == {ids["conversation"]: 400, ids["broadcast"]: 150}  # usage, holds less releases
    env.assert_books()


def test_a_movement_that_would_overdraw_writes_nothing(env: Env) -> None:
    acc = env.account()["id"]
    ids = _wallets(env, acc)
    before, now = _entries(env, ids["broadcast"]), env.now()
    with env.db.transaction() as s:
        wallets.record(s, repository.get(s, acc, "broadcast", for_update=True), "adjustment", 100, now,
                       reference="opening")
    with pytest.raises(BrokenInvariant), env.db.transaction() as s:
        bro = repository.get(s, acc, "broadcast", for_update=True)
        assert not ledger.covers(bro, 101) and ledger.covers(bro, 100)
        ledger.post(s, [Movement(bro, "hold", -60, 0, "broadcast_message", 2, "a"),
                        Movement(bro, "hold", -60, 0, "broadcast_message", 2, "b")], now)
    with pytest.raises(BrokenInvariant), env.db.transaction() as s:  # granted credit beyond the balance
        wallets.record(s, repository.get(s, acc, "broadcast", for_update=True), "grant", 0, now, granted=101)
    assert _entries(env, ids["broadcast"]) == [*before, ("adjustment", 100, 0, 100)]
    assert env.wallet(acc, "broadcast")["balance"] == 100


def test_a_plain_locked_row_is_written_by_the_ledger_with_its_expired_grant(env: Env) -> None:
    """The usage hot path's wallets are plain rows: the ledger writes their balances and the grant's end."""
    acc = env.account()["id"]
    env.buy(acc, "growth")
    before = env.wallet(acc)
    assert before["granted_balance"] > 0
    later = env.now() + timedelta(days=40)  # past the grant's expiry
    with env.db.transaction() as s:
        row = s.execute(select(*(Wallet.__table__.c[c] for c in LOCKED_COLUMNS))
                        .where(Wallet.account_id == acc, Wallet.kind == "conversation").with_for_update()).one()
        plain = LockedWallet(*row)
        wallets.expire_grant_if_due(s, plain, later)
        assert plain.granted_expires_at is None and plain.balance == before["balance"] - before["granted_balance"]
    after = env.wallet(acc)
    assert (after["balance"], after["granted_balance"], after["granted_expires_at"]) == \
        (before["balance"] - before["granted_balance"], 0, None)
    env.assert_books()
