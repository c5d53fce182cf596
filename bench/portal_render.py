"""Server-side render time of the portal pages for one big account. It prints numbers; it never fails on them.

The account gets N invoices and M ledger entries on its conversation wallet (bulk inserted, not
through the services: the books of this throwaway database are not balanced). Then the pages are
rendered in-process (FastAPI TestClient, no network) and timed: /portal (the Subscription page,
target < 100 ms at 10.000 invoices and 1.000.000 entries), /portal/invoices, /portal/balance/history.

    .venv/bin/python bench/portal_render.py [--invoices 10000] [--entries 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from langganan.accounts import service as accounts
from langganan.app import create_app, open_database, prepare
from langganan.config import Settings
from langganan.invoices.models import Invoice
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.ids import new_id
from langganan.onboarding import service as onboarding
from langganan.portal import service as portal
from langganan.wallets import ledger
from langganan.wallets import repository as wallets_repo
from langganan.wallets.models import SpendHour, WalletEntry

BATCH = 20_000


def seed(db: Database, settings: Settings, invoices: int, entries: int) -> str:
    now = wall_now()
    with db.transaction() as s:
        account = onboarding.create(s, accounts.NewAccount(name="Big Co", email="big@bench.example", locale="en"), now)
        accounts.update_billing_info(s, account, {"company_name": "Big Co", "contact_name": "B", "email": "b@b.id",
                                                  "phone": "+62 21 555", "address": "Jl. 1", "city": "Jakarta",
                                                  "postal_code": "10110", "country": "ID"}, now)
        wallet_id = wallets_repo.get(s, account.id, "conversation").id
        account_id, buyer = account.id, account.buyer_snapshot()
    for start in range(0, invoices, BATCH):
        rows = [dict(id=new_id("inv"), number=f"BENCH/{i:08d}", account_id=account_id, type="top_up",
                     status="paid" if i % 7 else "unpaid", currency="IDR", subtotal=30000, discount=0, tax=0,
                     tax_rate_bps=0, total=30000, package="Conversation balance", seller=dict(settings.seller),
                     buyer=buyer, action={"kind": "top_up", "wallet": "conversation", "amount": 30000},
                     issued_at=now - timedelta(minutes=invoices - i), expires_at=now + timedelta(days=3))
                for i in range(start, min(start + BATCH, invoices))]
        with db.transaction() as s:
            s.execute(insert(Invoice), rows)
    # the hourly spend rollup the ledger keeps with each usage entry (the daily-spend chart reads it)
    spend: dict[tuple[str, datetime], int] = {}
    for start in range(0, entries, BATCH):
        rows = [dict(wallet_id=wallet_id, account_id=account_id, type="usage", amount=-30, granted_amount=0,
                     balance_after=1_000_000,
                     meter="conversation_reply", quantity=1, reference=None,
                     created_at=now - timedelta(seconds=(entries - i) * 2))
                for i in range(start, min(start + BATCH, entries))]
        with db.transaction() as s:
            s.execute(insert(WalletEntry), rows)
        for row in rows:
            key = (wallet_id, ledger.spend_hour(row["created_at"]))
            spend[key] = spend.get(key, 0) + 30
    with db.transaction() as s:
        s.execute(insert(SpendHour), [{"wallet_id": w, "account_id": account_id, "hour": h, "amount": a}
                                      for (w, h), a in spend.items()])
    return account_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: a temporary SQLite file)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    settings = Settings(database_url=url, mode="sandbox")
    db = open_database(url, settings)
    prepare(settings, db)
    t0 = time.perf_counter()
    account_id = seed(db, settings, args.invoices, args.entries)
    print(f"seeded {args.invoices} invoices and {args.entries} ledger entries in {time.perf_counter() - t0:.1f} s")
    with db.transaction() as s:
        from langganan.accounts import repository

        _link, token = portal.create_link(s, repository.get(s, account_id), wall_now())
    client = TestClient(create_app(settings, db))
    assert client.get(f"/portal/session/{token}").status_code == 200
    for path in ("/portal", "/portal/invoices", "/portal/balance/history?wallet=conversation&type=all"):
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text[:200]
        times.sort()
        print(f"{path:55s} p50 {statistics.median(times):6.1f} ms   p95 {times[int(len(times) * 0.95) - 1]:6.1f} ms"
              f"   ({args.runs} renders, {db.dialect})")


if __name__ == "__main__":
    main()
