"""Scale-out benchmark: N `langganan serve` processes and M `langganan worker` processes on one PostgreSQL.

For each (N, M) the same seeded database is copied (CREATE DATABASE ... TEMPLATE) so every run starts alike:
`--subscriptions` Growth subscriptions (half renew by saved card, half by bank transfer) all due at once, and
`--accounts` accounts with funded conversation wallets. Then, at the same moment:

- the M workers start working off the renewals (what `langganan worker` runs, in a loop);
- `--clients` keep-alive connections send usage batches (`POST /v1/usage/batch`, `--batch` events each) to the N
  serve processes, each on its own port (connections spread round robin), for `--seconds`.

Reported per run: usage ingest (events/s over the window), renewals (subscriptions/s from the workers' start to
the last renewal, or to the end of the window if the backlog is not drained), due-work lag (how long the backlog
of due subscriptions took to drain, in seconds, and the largest backlog seen after the first 5 s), and each as a
ratio to the run with one process of its kind (N=1 for ingest, M=1 for renewals, at the same other count).
Checks after each run: one renewal invoice per subscription and period, every accepted event debited once,
`langganan verify` clean. It prints numbers; it never fails on them.

    .venv/bin/python bench/scale_out.py                               # N, M in 1 2 4: nine runs, ~10 minutes
    .venv/bin/python bench/scale_out.py --serves 1 2 --workers 1 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest
import renewals

from langganan.app import open_database, prepare
from langganan.config import Settings
from langganan.invoices.models import Invoice
from langganan.kit.clock import DatabaseClock
from langganan.kit.db import Database
from langganan.kit.migrate import upgrade
from langganan.subscriptions.models import Subscription
from langganan.wallets.models import WalletEntry

HERE = Path(__file__).resolve().parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEED_DB, RUN_DB = "langganan_bench_scale_seed", "langganan_bench_scale"
KEY = renewals.KEY
console = Console(width=None if sys.stdout.isatty() else 200)


def _admin(statement: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def url_of(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def seed(subscriptions: int, accounts: int) -> list[str]:
    """The seeded database (renewals due, funded wallets); returns the funded accounts' ids."""
    _admin(f'DROP DATABASE IF EXISTS "{SEED_DB}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{SEED_DB}"')
    url = url_of(SEED_DB)
    upgrade(url)
    settings = renewals.settings_for(url)
    db = open_database(url, settings)
    prepare(settings, db)
    card, bank = renewals.templates(settings, db)
    renewals.clone(db, card, subscriptions // 2 - 1, "card")
    renewals.clone(db, bank, subscriptions - subscriptions // 2 - 1, "bank")
    funded, _hot = ingest.seed(db, accounts, 0)
    with db.transaction() as s:
        end = s.scalar(select(func.max(Subscription.current_period_end)).where(Subscription.plan_code == "growth"))
        DatabaseClock().advance_to(s, end + timedelta(minutes=1))
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    db.dispose()
    return funded


class Processes:
    """`langganan serve` and `langganan worker` subprocesses, each in its own process group, always stopped."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.env = {**os.environ, "LANGGANAN_DATABASE_URL": url, "LANGGANAN_MODE": "sandbox",
                    "LANGGANAN_BOOTSTRAP_API_KEY": KEY, "LANGGANAN_WORKER_INTERVAL_SECONDS": "1"}
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        self.binary = str(Path(sys.executable).with_name("langganan"))

    def _start(self, args: list[str], name: str) -> None:
        with (self.log_dir / f"{name}.log").open("wb") as out:
            self.procs.append(subprocess.Popen([self.binary, *args], env=self.env, stdout=out,
                                               stderr=subprocess.STDOUT, start_new_session=True))

    def serve(self, count: int) -> None:
        for i in range(count):
            port = ingest.free_port()
            self._start(["serve", "--port", str(port), "--no-worker"], f"serve-{i}")
            self.ports.append(port)
        deadline = time.monotonic() + 240
        for port in self.ports:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"serve on {port} did not come up: see {self.log_dir}")
                time.sleep(0.2)

    def workers(self, count: int) -> None:
        for i in range(count):
            self._start(["worker"], f"worker-{i}")

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)


async def load(ports: list[int], accounts: list[str], clients: int, batch: int, seconds: float,
               tag: str) -> tuple[int, int]:
    """Usage batches from `clients` connections for `seconds`; returns (events accepted, requests refused)."""
    connections = [ingest.RawConnection(port) for port, _ in zip(itertools.cycle(ports), range(clients), strict=False)]
    counter = itertools.count()
    accepted, refused = 0, 0
    deadline = time.monotonic() + seconds

    async def client(conn: ingest.RawConnection) -> None:
        nonlocal accepted, refused
        while time.monotonic() < deadline:
            start = next(counter) * batch
            events = [{"id": f"{tag}-{start + i}", "account_id": accounts[(start + i) % len(accounts)],
                       "meter": ingest.METER} for i in range(batch)]
            status, _ = await asyncio.wait_for(conn.post("/v1/usage/batch", json.dumps({"events": events}).encode()),
                                               120)
            if status == 200:
                accepted += batch
            else:
                refused += 1

    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        for c in connections:
            c.close()
    return accepted, refused


def due_backlog(db: Database) -> int:
    """Subscriptions whose due work is waiting (next_due_at at or before the engine clock's now)."""
    with db.transaction() as s:
        now = DatabaseClock().now(s)
        return int(s.scalar(select(func.count()).select_from(Subscription).where(Subscription.next_due_at <= now))
                   or 0)


def run(serves: int, workers: int, funded: list[str], args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    _admin(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{SEED_DB}"')
    url = url_of(RUN_DB)
    procs = Processes(url, log_dir)
    watch = open_database(url)
    backlog0 = due_backlog(watch)
    samples: list[tuple[float, int]] = []
    try:
        procs.serve(serves)
        started = time.monotonic()
        procs.workers(workers)

        async def measure() -> tuple[int, int]:
            async def sampler() -> None:
                while time.monotonic() - started < args.seconds:
                    samples.append((time.monotonic() - started, await asyncio.to_thread(due_backlog, watch)))
                    await asyncio.sleep(1)
            results = await asyncio.gather(load(procs.ports, funded, args.clients, args.batch, args.seconds,
                                                f"s{serves}w{workers}"), sampler())
            return results[0]

        accepted, refused = asyncio.run(measure())
        window = time.monotonic() - started
        drained = next((t for t, n in samples if n == 0), None)
        while drained is None and time.monotonic() - started < args.seconds + args.drain_limit:
            if due_backlog(watch) == 0:
                drained = time.monotonic() - started
            else:
                time.sleep(1)
    finally:
        procs.stop()
        watch.dispose()
    db = open_database(url)
    from langganan.verify import violations

    with db.transaction() as s:
        renewed = s.scalar(select(func.count()).select_from(Invoice).where(Invoice.type == "renewal")) or 0
        twice = s.scalar(select(func.count()).select_from(
            select(Invoice.subscription_id, Invoice.period_start).where(Invoice.type == "renewal")
            .group_by(Invoice.subscription_id, Invoice.period_start).having(func.count() > 1).subquery())) or 0
        debited = s.scalar(select(func.count()).select_from(WalletEntry).where(WalletEntry.type == "usage")) or 0
        broken = [str(v) for v in violations(s, Settings())]
    db.dispose()
    renew_seconds = drained if drained is not None else window
    return {"serves": serves, "workers": workers, "window_s": round(window, 1),
            "ingest_per_s": round(accepted / window, 1), "refused_requests": refused,
            "renewals": renewed, "renewals_per_s": round(renewed / renew_seconds, 1) if renew_seconds else 0.0,
            "backlog_start": backlog0, "drained_s": round(drained, 1) if drained is not None else None,
            "max_backlog_after_5s": max((n for t, n in samples if t >= 5), default=None),
            "checks": {"usage_entries": debited, "events_accepted": accepted, "renewed_twice": twice,
                       "verify_violations": len(broken), "first_violations": broken[:3]}}


def report(results: list[dict[str, Any]]) -> None:
    table = Table("N serve", "M worker", "ingest ev/s", "vs N=1", "renewals/s", "vs M=1", "drained in s",
                  "backlog >5s", "checks", title=f"scale-out on {os.cpu_count()} cores, one PostgreSQL")
    by = {(r["serves"], r["workers"]): r for r in results}
    for r in results:
        base_n, base_m = by.get((1, r["workers"])), by.get((r["serves"], 1))
        ok = (r["checks"]["usage_entries"] == r["checks"]["events_accepted"] and r["checks"]["renewed_twice"] == 0
              and r["checks"]["verify_violations"] == 0)
        table.add_row(str(r["serves"]), str(r["workers"]), f"{r['ingest_per_s']:,.0f}",
                      f"{r['ingest_per_s'] / base_n['ingest_per_s']:.2f}" if base_n and base_n["ingest_per_s"]
                      else "-",
                      f"{r['renewals_per_s']:,.0f}",
                      f"{r['renewals_per_s'] / base_m['renewals_per_s']:.2f}" if base_m and base_m["renewals_per_s"]
                      else "-",
                      str(r["drained_s"]) if r["drained_s"] is not None else "not drained",
                      str(r["max_backlog_after_5s"]), "ok" if ok else f"[red]{r['checks']}[/red]")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serves", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--subscriptions", type=int, default=6000, help="renewals due at the start (6000)")
    parser.add_argument("--accounts", type=int, default=100, help="accounts the usage is spread over (100)")
    parser.add_argument("--seconds", type=float, default=30, help="the ingest window (30)")
    parser.add_argument("--drain-limit", type=float, default=120, help="how long to wait for the backlog after it")
    parser.add_argument("--clients", type=int, default=8, help="concurrent usage clients (8)")
    parser.add_argument("--batch", type=int, default=200, help="events per usage batch (200)")
    args = parser.parse_args()
    load_avg = os.getloadavg()[0]
    console.log(f"load average {load_avg:.1f} on {os.cpu_count()} cores" + (
        " — [yellow]the machine is busy; numbers will be noisy[/]" if load_avg > 0.5 * (os.cpu_count() or 1) else ""))
    t0 = time.perf_counter()
    funded = seed(args.subscriptions, args.accounts)
    console.log(f"seeded {args.subscriptions} due subscriptions and {args.accounts} funded accounts in "
                f"{time.perf_counter() - t0:.0f} s")
    log_dir = HERE / "results" / f"scale-out-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    log_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for serves in args.serves:
        for workers in args.workers:
            results.append(run(serves, workers, funded, args, log_dir))
            console.log(json.dumps(results[-1]))
    report(results)
    (log_dir / "results.json").write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(),
                                                      "load_avg_1m_before": load_avg,
                                                      "load_avg_1m_after": os.getloadavg()[0],
                                                      "results": results}, indent=2))
    console.log(f"written {log_dir / 'results.json'}")


if __name__ == "__main__":
    main()
