"""kit.bulk: rows streamed with COPY on PostgreSQL (executemany elsewhere) and new ORM objects made
persistent as a flush would make them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy import text as text_

from langganan.catalog.rules import WalletKind
from langganan.events.models import Event
from langganan.events.service import EVENTS
from langganan.invoices.actions import TopUpAction
from langganan.invoices.models import Invoice, InvoiceLine
from langganan.kit.bulk import copy_new, insert_rows
from langganan.kit.db import one_flush
from langganan.kit.ids import new_id
from langganan.wallets.models import Wallet, WalletEntry
from tests.conftest import Env

NOW = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)


def _invoice(account_id: str, lines: int) -> Invoice:
    return Invoice(id=new_id("inv"), number=new_id("TEST/"), account_id=account_id, type="top_up", status="unpaid",
                   currency="IDR", subtotal=100 * lines, total=100 * lines, seller={"name": "PT Seller"},
                   buyer={"name": "Toko Maju — ñ"}, action=TopUpAction(wallet=WalletKind.CONVERSATION, amount=100),
                   issued_at=NOW,
                   lines=[InvoiceLine(account_id=account_id, position=i, kind="top_up", description=f"line {i}",
                                      quantity=1,
                                      unit_amount=100, amount=100) for i in range(lines)])


def test_copied_objects_are_persistent_with_defaults_keys_and_children(env: Env) -> None:
    acc = env.account()["id"]
    with env.db.transaction() as s:
        wallet = s.scalars(select(Wallet).where(Wallet.account_id == acc, Wallet.kind == "conversation")).one()
        invoices = [_invoice(acc, lines) for lines in (2, 1, 3)]
        s.add_all(invoices)
        entries = [WalletEntry(wallet_id=wallet.id, account_id=acc, type="adjustment", amount=n, balance_after=0,
                               created_at=NOW)
                   for n in (1, 2, 3)]
        s.add_all(entries)
        written = copy_new(s, (Invoice, InvoiceLine, WalletEntry))
        assert written == (3 + 6 + 3 if env.db.dialect == "postgresql" else 0)
        if env.db.dialect == "postgresql":
            assert not s.new  # nothing left for the unit of work
            assert all(i.discount == 0 and i.tax == 0 and i.paid_at is None for i in invoices)  # defaults
            assert [e.id for e in entries] == sorted(e.id for e in entries)  # keys in the order added
            assert all(line.invoice_id == inv.id for inv in invoices for line in inv.lines)
            assert not s.dirty
        s.flush()
        ids = [i.id for i in invoices]
    with env.db.transaction() as s:
        stored = {i.id: i for i in s.scalars(select(Invoice).where(Invoice.id.in_(ids)))}
        assert [len(stored[i].lines) for i in ids] == [2, 1, 3]
        assert [ln.description for ln in stored[ids[2]].lines] == ["line 0", "line 1", "line 2"]
        assert stored[ids[0]].buyer == {"name": "Toko Maju — ñ"} and stored[ids[0]].discount == 0
        amounts = s.scalars(select(WalletEntry.amount).where(WalletEntry.type == "adjustment")
                            .order_by(WalletEntry.id)).all()
        assert amounts == [1, 2, 3]


def test_a_rolled_back_copy_leaves_nothing_and_the_objects_leave_the_session(env: Env) -> None:
    acc = env.account()["id"]
    with env.db.transaction() as s:
        invoice = _invoice(acc, 2)
        with pytest.raises(RuntimeError), s.begin_nested():
            s.add(invoice)
            with one_flush(s, copy=(Invoice, InvoiceLine)):
                pass
            assert invoice in s
            raise RuntimeError("the batch failed after its flush")
        assert invoice not in s
    with env.db.transaction() as s:
        assert s.get(Invoice, invoice.id) is None


def test_a_broken_row_fails_the_whole_copy(env: Env) -> None:
    """A duplicate key (here: a number already used) raises, so the caller's batch falls back."""
    acc = env.account()["id"]
    with env.db.transaction() as s:
        first = _invoice(acc, 1)
        s.add(first)
    with env.db.transaction() as s:
        twin = _invoice(acc, 1)
        twin.number = first.number
        s.add(twin)
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"), s.begin_nested():
            copy_new(s, (Invoice, InvoiceLine))
            s.flush()
        s.expunge_all()
    with env.db.transaction() as s:
        assert s.get(Invoice, twin.id) is None


def test_insert_rows_writes_json_and_times(env: Env) -> None:
    rows = [{"id": new_id("evt"), "type": "custom.bulk", "account_id": None, "data": {"n": n, "text": "Rp15.000 'é'"},
             "created_at": NOW} for n in range(5)]
    with env.db.transaction() as s:
        insert_rows(s, EVENTS, rows)
    with env.db.transaction() as s:
        stored = s.scalars(select(Event).where(Event.type == "custom.bulk").order_by(Event.id)).all()
        assert [e.data for e in stored] == [r["data"] for r in rows]
        assert all(e.created_at == NOW for e in stored)
    with env.db.transaction() as s, pytest.raises(Exception, match="naive datetime refused"):
        insert_rows(s, EVENTS, [{**rows[0], "id": new_id("evt"), "created_at": NOW.replace(tzinfo=None)}])


def test_update_dirty_writes_only_the_changed_columns_and_leaves_objects_clean(env: Env) -> None:
    from langganan.kit.bulk import update_dirty

    accounts = [env.account()["id"] for _ in range(3)]
    with env.db.transaction() as s:
        wallets = s.scalars(select(Wallet).where(Wallet.account_id.in_(accounts), Wallet.kind == "conversation")
                            .order_by(Wallet.id)).all()
        third_balance = wallets[2].balance
        wallets[0].balance, wallets[0].updated_at = 111, NOW
        wallets[1].balance = 222  # another set of changed columns: another statement
        wallets[2].low_balance_threshold = 5_000
        # a change made meanwhile by someone else, to a column this transaction did not set, survives
        with s.no_autoflush:
            s.execute(text_("UPDATE wallets SET reserved = 7 WHERE id = :id"), {"id": wallets[1].id})
        written = update_dirty(s, (Wallet,))
        assert written == (3 if env.db.dialect == "postgresql" else 0)
        if env.db.dialect == "postgresql":
            assert not s.dirty
        s.flush()
        ids = [w.id for w in wallets]
    with env.db.transaction() as s:
        stored = [s.get(Wallet, i) for i in ids]
        assert [(w.balance, w.low_balance_threshold) for w in stored if w] == [(111, None), (222, None),
                                                                                  (third_balance, 5_000)]
        assert stored[0] is not None and stored[0].updated_at == NOW
        assert stored[1] is not None and stored[1].reserved == 7


def test_update_dirty_refuses_a_row_that_is_gone(env: Env) -> None:
    """As the unit of work does (StaleDataError), which writes the update on SQLite."""
    from sqlalchemy.orm.exc import StaleDataError

    from langganan.kit.bulk import update_dirty

    acc = env.account()["id"]
    with env.db.transaction() as s:
        entry = WalletEntry(wallet_id=s.scalars(select(Wallet.id).where(Wallet.account_id == acc)).first(),
                            account_id=acc, type="adjustment", amount=1, balance_after=1, created_at=NOW)
        s.add(entry)
        s.flush()
        entry.reference = "changed"
        with s.no_autoflush:
            s.execute(text_("DELETE FROM wallet_entries WHERE id = :id"), {"id": entry.id})
        if env.db.dialect == "postgresql":
            with pytest.raises(RuntimeError, match="updated 0 rows, expected 1"):
                update_dirty(s, (WalletEntry,))
        else:
            assert update_dirty(s, (WalletEntry,)) == 0
            with pytest.raises(StaleDataError):
                s.flush()
        s.rollback()
