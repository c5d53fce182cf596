"""Renewal-run benchmark: N subscriptions fall due at once; 1 or 2 worker processes work them off.

It prints numbers; it never fails on them. Half the subscriptions renew by saved card (auto-renew:
the runner charges the card through the sandbox gateway and starts the next period), half by bank
transfer (the runner issues the renewal invoice with its virtual account, sends the reminders and
starts the grace period). Every subscription is cloned from two template accounts made through the
API, so the rows are what the services write. The engine clock is then moved past the period end
and W `langganan`-equivalent worker processes (`run_due`, the code of `langganan worker --once`)
start together on the same database. Reported: subscriptions/s from the first worker's start to
the last one's end, each worker's peak RSS, and the checks (one renewal invoice per subscription,
one charge per card subscription, `langganan verify` clean).

    .venv/bin/python bench/renewals.py                          # 100.000 and 200.000, both backends, 1 and 2 workers
    .venv/bin/python bench/renewals.py --subscriptions 20000 --backend postgresql --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import Table as SqlTable
from sqlalchemy import create_engine, func, insert, select, text

from langganan.app import create_app, make_context, open_database, prepare
from langganan.config import Settings
from langganan.invoices.models import Invoice
from langganan.kit.clock import DatabaseClock
from langganan.kit.db import Database
from langganan.kit.ids import new_id
from langganan.kit.migrate import upgrade
from langganan.models import metadata
from langganan.payments.models import Payment

HERE = Path(__file__).resolve().parent
KEY = "lgn_bench_renewals_admin"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "langganan_bench_renewals"
CLOCK_START = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
BATCH = 5000
console = Console(width=None if sys.stdout.isatty() else 200)
BILLING = {"company_name": "PT Bench", "contact_name": "Bench", "email": "finance@bench.example",
           "phone": "+62 21 5550101", "address": "Jl. Sudirman 1", "city": "Jakarta", "postal_code": "10210",
           "country": "ID"}


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, mode="sandbox", bootstrap_api_key=KEY, clock_start=CLOCK_START,
                    due_batch=int(os.environ.get("BENCH_DUE_BATCH", Settings().due_batch)))


def fresh_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        path = tmp / f"renewals-{time.monotonic_ns()}.db"
        url = f"sqlite:///{path}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"
    upgrade(url)
    return url


def templates(settings: Settings, db: Database) -> tuple[str, str]:
    """One card (auto-renew) and one bank-transfer Growth subscriber, made through the API."""
    client = TestClient(create_app(settings, db))
    h = {"Authorization": f"Bearer {KEY}"}

    def ok(r: Any, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json()

    ids = []
    for method in ("card", "bank_transfer"):
        acc = ok(client.post("/v1/accounts", json={"name": f"Template {method}", "email": f"{method}@bench.example"},
                             headers=h), 201)
        ok(client.put(f"/v1/accounts/{acc['id']}/billing-info", json=BILLING, headers=h))
        body: dict[str, Any] = {"plan": "growth", "interval": "month", "payment_method": method}
        if method == "card":
            token = ok(client.post("/v1/sandbox/cards", json={"number": "4242424242424242", "exp_month": 12,
                                                              "exp_year": 2030, "cvc": "123"}, headers=h), 201)
            pm = ok(client.post(f"/v1/accounts/{acc['id']}/payment-methods",
                                json={"provider_token": token["provider_token"]}, headers=h), 201)
            body["payment_method_id"] = pm["id"]
        res = ok(client.post(f"/v1/accounts/{acc['id']}/subscription/change", json=body, headers=h))
        if method == "bank_transfer":
            inv = res["invoice"]
            ok(client.post("/v1/sandbox/bank-transfers", json={"va_number": inv["payment"]["va_number"],
                                                                "amount": inv["total"]}, headers=h))
        ids.append(acc["id"])
    return ids[0], ids[1]


def clone(db: Database, template_id: str, count: int, tag: str) -> None:
    """Copy the template account's rows `count` times with fresh ids (accounts, cards, wallets and
    their ledger, subscription), in batches. A clone's period history starts with an `opening` row (its
    state taken as given, as for subscriptions from before the history), since its invoices are not copied."""
    t = {name: metadata.tables[name] for name in ("accounts", "payment_methods", "wallets", "wallet_entries",
                                                  "subscriptions", "subscription_periods")}
    with db.engine.connect() as conn:
        def rows(table: SqlTable, column: str, values: list[str]) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(  # in key order: a ledger is read in entry order
                select(table).where(table.c[column].in_(values)).order_by(*table.primary_key.columns))]

        account = rows(t["accounts"], "id", [template_id])[0]
        cards = rows(t["payment_methods"], "account_id", [template_id])
        wallets = rows(t["wallets"], "account_id", [template_id])
        entries = rows(t["wallet_entries"], "wallet_id", [w["id"] for w in wallets])
        sub = rows(t["subscriptions"], "account_id", [template_id])[0]
    for start in range(0, count, BATCH):
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in t}
        for i in range(start, min(start + BATCH, count)):
            acc_id = new_id("acc")
            out["accounts"].append({**account, "id": acc_id, "external_id": None,
                                    "email": f"{tag}{i}@bench.example", "name": f"Bench {tag} {i}"})
            card_ids = {}
            for card in cards:
                card_ids[card["id"]] = new_id("pm")
                out["payment_methods"].append({**card, "id": card_ids[card["id"]], "account_id": acc_id})
            for wallet in wallets:
                wallet_id = new_id("wal")
                out["wallets"].append({**wallet, "id": wallet_id, "account_id": acc_id})
                out["wallet_entries"] += [{**{k: v for k, v in e.items() if k != "id"}, "wallet_id": wallet_id,
                                           "account_id": acc_id}
                                          for e in entries if e["wallet_id"] == wallet["id"]]
            sub_id = new_id("sub")
            out["subscriptions"].append({**sub, "id": sub_id, "account_id": acc_id,
                                         "payment_method_id": card_ids.get(sub["payment_method_id"])})
            out["subscription_periods"].append({
                "id": new_id("per"), "subscription_id": sub_id, "account_id": acc_id,
                "starts_at": sub["current_period_start"],
                "plan_code": sub["plan_code"], "interval": sub["interval"], "kind": "opening", "invoice_id": None,
                "recorded_at": sub["current_period_start"]})
        with db.engine.begin() as conn:
            for name in ("accounts", "payment_methods", "wallets", "wallet_entries", "subscriptions",
                         "subscription_periods"):
                if out[name]:
                    conn.execute(insert(t[name]), out[name])


def work(url: str) -> None:
    """A worker process: what `langganan worker --once` does, timed, with its peak memory."""
    from langganan.due import run_due
    from langganan.notifications.worker import run_notifications  # noqa: F401  (imported as the CLI does)

    settings = settings_for(url)
    db = open_database(url, settings)
    prepare(settings, db, migrate_if_empty=False)
    ctx = make_context(settings, db)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for the starting signal, so the workers begin together
    started, cpu0 = time.time(), _cpu_seconds()
    if os.environ.get("BENCH_PROFILE"):  # a cProfile dump per worker, e.g. BENCH_PROFILE=/tmp/renewals
        import cProfile

        profile = cProfile.Profile()
        report = profile.runcall(run_due, ctx)
        profile.dump_stats(f"{os.environ['BENCH_PROFILE']}.{os.getpid()}.prof")
    else:
        report = run_due(ctx)
    print(json.dumps({"started": started, "ended": time.time(), "charges": report.charges,
                      "steps": dict(report.steps), "cpu_s": _cpu_seconds() - cpu0,
                      "maxrss_mb": _peak_rss_mb()}), flush=True)


def raw_work(url: str, now: str) -> None:
    """A baseline worker process (renewals_raw.py): the database work of the run, no application."""
    import renewals_raw

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    tpl = renewals_raw.templates(dsn)
    print("ready", flush=True)
    sys.stdin.readline()
    started, cpu0 = time.time(), _cpu_seconds()
    claimed = renewals_raw.run(dsn, tpl, datetime.fromisoformat(now))
    print(json.dumps({"started": started, "ended": time.time(), "cpu_s": _cpu_seconds() - cpu0,
                      "claimed": claimed, "maxrss_mb": _peak_rss_mb()}), flush=True)


def _workers(args: list[str], count: int) -> list[dict[str, Any]]:
    """Start `count` processes of this script with `args`, let them begin together, collect their reports."""
    procs = [subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for _ in range(count)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    reports = []
    for p in procs:
        out, _ = p.communicate(timeout=3600)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def baseline(url: str, now: datetime, workers: int) -> tuple[float, float]:
    """Subscriptions/s of the raw-SQL baseline on a copy of the seeded database (PostgreSQL only), and
    its processes' CPU ms per subscription."""
    copy = f"{PG_DB}_raw"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{PG_DB}"'))
    try:
        reports = _workers(["--raw-work", url.rsplit("/", 1)[0] + f"/{copy}", now.isoformat()], workers)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()
    seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    claimed = sum(r["claimed"] for r in reports)
    return claimed / seconds, 1000 * sum(r["cpu_s"] for r in reports) / claimed


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
    exec from the parent, so a worker would report the bench process's own size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_once(backend: str, n: int, workers: int, tmp: Path) -> dict[str, Any]:
    url = fresh_database(backend, tmp)
    settings = settings_for(url)
    db = open_database(url, settings)
    prepare(settings, db)
    t0 = time.perf_counter()
    card, bank = templates(settings, db)
    clone(db, card, n // 2 - 1, "card")
    clone(db, bank, n - n // 2 - 1, "bank")
    if backend == "postgresql":  # statistics as autovacuum keeps them in production, not those of an empty database
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    seeded = time.perf_counter() - t0
    with db.transaction() as s:
        end = s.scalar(select(func.max(metadata.tables["subscriptions"].c.current_period_end)))
        DatabaseClock().advance_to(s, end + timedelta(minutes=1))
        now = DatabaseClock().now(s)
    db.dispose()
    raw, raw_cpu = baseline(url, now, workers) if backend == "postgresql" else (None, None)
    busy0 = _machine_busy_seconds()
    reports = _workers(["--work", url], workers)
    busy = _machine_busy_seconds() - busy0
    seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    workers_cpu = sum(r["cpu_s"] for r in reports)
    db = open_database(url)
    from langganan.verify import violations

    with db.transaction() as s:
        renewals = s.scalar(select(func.count()).select_from(Invoice).where(Invoice.type == "renewal"))
        per_sub = s.scalar(select(func.count()).select_from(
            select(Invoice.account_id).where(Invoice.type == "renewal").group_by(Invoice.account_id)
            .having(func.count() > 1).subquery()))
        charges = s.scalar(select(func.count()).select_from(Payment).where(Payment.method == "card",
                                                                             Payment.status == "succeeded"))
        broken = [str(v) for v in violations(s, Settings())]
    db.dispose()
    return {"backend": backend, "subscriptions": n, "workers": workers, "seconds": round(seconds, 2),
            "per_s": round(n / seconds, 1) if seconds else 0.0, "seed_s": round(seeded, 1),
            # the same database work with no application (renewals_raw.py), on a copy, same processes
            "raw_sql_per_s": round(raw, 1) if raw else None,
            "raw_sql_cpu_ms_per_sub": round(raw_cpu, 3) if raw_cpu else None,
            "vs_raw_sql": round(n / seconds / raw, 3) if raw and seconds else None,
            "rss_mb": [round(r["maxrss_mb"], 1) for r in reports],
            # CPU per subscription (ms): the worker processes, and everything else on the machine in the
            # same window (PostgreSQL mostly; on an otherwise idle machine)
            "cpu_ms_per_sub": {"workers": round(1000 * workers_cpu / n, 3),
                               "rest": round(1000 * max(0.0, busy - workers_cpu) / n, 3)},
            "share": [sum(r["steps"].values()) for r in reports],
            "checks": {"renewal_invoices": renewals, "subs_with_two": per_sub, "card_charges_ok": charges,
                       "verify_violations": len(broken), "first_violations": broken[:3]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, nargs="+", default=[100_000, 200_000])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--raw-work", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work:
        work(args.work)
        return
    if args.raw_work:
        raw_work(*args.raw_work)
        return
    load = os.getloadavg()[0]
    console.log(f"load average {load:.1f} on {os.cpu_count()} cores")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            for n in args.subscriptions:
                for w in args.workers:
                    console.log(f"{backend}: {n:,} due subscriptions, {w} worker(s)")
                    results.append(run_once(backend, max(4, n), w, Path(tmp)))
                    console.log(results[-1])
    table = Table("backend", "subscriptions", "workers", "seconds", "subs/s", "raw SQL subs/s", "vs raw SQL",
                  "CPU ms/sub workers+rest",
                  "peak RSS MB per worker", "work per worker", "renewal invoices", "card charges", "verify",
                  title="renewal run")
    for r in results:
        c = r["checks"]
        table.add_row(r["backend"], f"{r['subscriptions']:,}", str(r["workers"]), f"{r['seconds']:.1f}",
                      f"{r['per_s']:,.0f}", f"{r['raw_sql_per_s']:,.0f}" if r["raw_sql_per_s"] else "—",
                      f"{r['vs_raw_sql']:.0%}" if r["vs_raw_sql"] else "—",
                      "{workers:.2f} + {rest:.2f}".format(**r["cpu_ms_per_sub"]),
                      ", ".join(map(str, r["rss_mb"])), ", ".join(map(str, r["share"])),
                      f"{c['renewal_invoices']:,} (dup {c['subs_with_two']})", f"{c['card_charges_ok']:,}",
                      "clean" if not c["verify_violations"] else f"{c['verify_violations']} violations")
    console.print(table)
    console.print("target: ≥ 1.500 subscriptions/s on PostgreSQL with 2 workers, memory flat as N grows")
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / f"renewals-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"load_avg_1m_before": load, "results": results}, indent=2))
    console.print(f"results: {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
