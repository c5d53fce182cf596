"""Usage-event ingestion benchmark: SQLite and PostgreSQL in one run. Prints numbers; never fails on them.

    .venv/bin/python bench/ingest.py [--events N] [--backend sqlite|postgresql|both]

(a) raw   the rows the app writes per event (usage_events + wallet_entries INSERTs, one wallets UPDATE
          per wallet per batch) as plain batched SQL, 1000 events per transaction, one connection.
(b) batch POST /v1/usage/batch over HTTP, 1000 events per request over many accounts, a few clients.
(c) single POST /v1/usage over HTTP, one event per request over many accounts, many clients.
(d) hot   POST /v1/usage on ONE wallet funded for exactly K events; 2K are sent; checks no overdraft.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from langganan.accounts import service as accounts
from langganan.app import create_app, prepare
from langganan.config import Settings
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.migrate import upgrade
from langganan.wallets import repository
from langganan.wallets import service as wallets

HERE = Path(__file__).resolve().parent
KEY = "lgn_bench_admin_key"
METER, PRICE = "conversation_reply", 30  # Rp30 from the conversation wallet
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "langganan_bench"
TARGETS = {"batch": "≥ 50% of (a)", "single": "≥ 3.000 ev/s", "hot": "≥ 1.500 ev/s, no overdraft"}
console = Console()


def make_app() -> Any:
    """uvicorn factory for the server subprocess (`ingest:make_app`), configured by environment."""
    settings = Settings(database_url=os.environ["BENCH_DATABASE_URL"], mode="sandbox", bootstrap_api_key=KEY)
    return create_app(settings, Database(settings.database_url))


@dataclass
class Result:
    backend: str
    case: str
    events: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    cpu: dict[str, float] = field(default_factory=dict)  # share of one core: client, server, postgres
    note: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        lat = sorted(self.latencies_ms)
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        return {**out, "events_per_s": round(self.rate, 1), "p50_ms": round(self.pct(0.50), 2),
                "p99_ms": round(self.pct(0.99), 2), "requests": len(self.latencies_ms)}


# --- CPU accounting from /proc (read only) -------------------------------------------------------------

def _proc_stat(pid: int) -> tuple[str, int, float]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    comm, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
    return comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server_pid: int | None) -> dict[str, float]:
    stats: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = _proc_stat(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    tree = {server_pid} if server_pid else set()
    for _ in range(4):  # server -> uvicorn workers (-> their helpers)
        tree |= {pid for pid, (_c, ppid, _t) in stats.items() if ppid in tree}
    return {"client": time.process_time(), "server": sum(stats[p][2] for p in tree if p in stats),
            "postgres": sum(t for c, _p, t in stats.values() if c == "postgres")}


def cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    return {k: round((after[k] - before[k]) / seconds, 2) for k in before}


# --- databases -----------------------------------------------------------------------------------------

def fresh_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    upgrade(url)
    return url


def seed(db: Database, n_accounts: int, hot_events: int) -> tuple[list[str], str]:
    """Accounts with a huge conversation balance, plus one hot account funded for exactly `hot_events`."""
    prepare(Settings(database_url=db.url, mode="sandbox", bootstrap_api_key=KEY), db, migrate_if_empty=False)
    now = wall_now()
    with db.transaction() as s:
        ids = [accounts.create(s, accounts.NewAccount(name=f"Bench {i}", email=f"bench{i}@example.id"), now).id
               for i in range(n_accounts + 1)]
        for account_id in ids[:-1]:
            w = repository.get(s, account_id, "conversation", for_update=True)
            wallets.record(s, w, "top_up", 10**12, now, reference="bench")
        hot, target = repository.get(s, ids[-1], "conversation", for_update=True), hot_events * PRICE
        granted = min(hot.granted_balance, target)
        wallets.record(s, hot, "adjustment", target - hot.balance, now, granted=granted - hot.granted_balance,
                       reference="bench: exactly K events")
    return ids[:-1], ids[-1]


def connect_raw(url: str) -> tuple[Any, str, Any]:
    """A plain DB-API connection in autocommit (we send BEGIN/COMMIT), its placeholder and a timestamp."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        return conn, "?", datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    return psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={PG_DB}", autocommit=True), "%s", \
        datetime.now(UTC)


def raw_writes(backend: str, url: str, account_ids: list[str], n: int, batch: int) -> Result:
    conn, ph, ts = connect_raw(url)
    cur = conn.cursor()
    cur.execute(f"SELECT id, account_id, balance FROM wallets WHERE kind = 'conversation' AND account_id IN "
                f"({', '.join([ph] * len(account_ids))})", account_ids)
    rows = cur.fetchall()
    balances, targets = {r[0]: r[2] for r in rows}, [(r[0], r[1]) for r in rows]
    ins_event = ("INSERT INTO usage_events (id, account_id, meter, quantity, amount, balance_after, body_hash, "
                 f"occurred_at, created_at) VALUES ({', '.join([ph] * 9)})")
    ins_entry = ("INSERT INTO wallet_entries (wallet_id, type, amount, granted_amount, balance_after, meter, "
                 f"quantity, reference, created_at) VALUES ({', '.join([ph] * 9)})")
    upd = f"UPDATE wallets SET balance = {ph}, updated_at = {ph} WHERE id = {ph}"
    rng, latencies = random.Random(1), []
    before, start = cpu_snapshot(None), time.perf_counter()
    for first in range(0, n, batch):
        t0 = time.perf_counter()
        events, entries, touched = [], [], set()
        for i in range(first, min(n, first + batch)):
            wallet_id, account_id = rng.choice(targets)
            balances[wallet_id] -= PRICE
            touched.add(wallet_id)
            events.append((f"raw-{i}", account_id, METER, 1, PRICE, balances[wallet_id], "0" * 32, None, ts))
            entries.append((wallet_id, "usage", -PRICE, 0, balances[wallet_id], METER, 1, f"raw-{i}", ts))
        cur.execute("BEGIN")
        cur.executemany(ins_event, events)
        cur.executemany(ins_entry, entries)
        cur.executemany(upd, [(balances[w], ts, w) for w in sorted(touched)])
        cur.execute("COMMIT")
        latencies.append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - start
    conn.close()
    return Result(backend, "(a) raw SQL", n, seconds, latencies, cpu_share(before, cpu_snapshot(None), seconds),
                  f"1 connection, {batch} events/txn, executemany")


# --- the app over HTTP ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn in a subprocess (its own process group) on 127.0.0.1; always stopped by `stop()`."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port, self.workers, self.log = free_port(), workers, log
        env = {**os.environ, "BENCH_DATABASE_URL": url}
        with log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port), str(workers)],
                                         env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:  # anything left in the group we started (uvicorn workers)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=5)


async def blast(port: int, warmup: list[tuple[str, bytes]], timed: list[tuple[str, bytes]], concurrency: int,
                ) -> tuple[float, list[float], Counter[int], list[bytes]]:
    """POST pre-encoded bodies from `concurrency` keep-alive connections; returns wall time and per request data."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    bodies: list[bytes] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits,
                                 timeout=httpx.Timeout(120)) as client:
        async def worker(items: list[tuple[str, bytes]], record: bool) -> None:
            while items:
                path, body = items.pop()
                t0 = time.perf_counter()
                r = await client.post(path, content=body)
                if record:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    statuses[r.status_code] += 1
                    bodies.append(r.content)

        await asyncio.gather(*(worker(warmup, False) for _ in range(concurrency)))
        todo = list(reversed(timed))
        start = time.perf_counter()
        await asyncio.gather(*(worker(todo, True) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, statuses, bodies


def event(event_id: str, account_id: str) -> dict[str, Any]:
    return {"id": event_id, "account_id": account_id, "meter": METER}


def http_case(backend: str, case: str, server: Server, timed: list[tuple[str, bytes]], n_events: int,
              concurrency: int, warmup: list[tuple[str, bytes]]) -> tuple[Result, Counter[int], list[bytes]]:
    before = cpu_snapshot(server.proc.pid)
    seconds, latencies, statuses, bodies = asyncio.run(blast(server.port, warmup, timed, concurrency))
    # warm-up is outside the timed window but inside the CPU window: small, and said in the README
    cpu = cpu_share(before, cpu_snapshot(server.proc.pid), seconds)
    note = f"{concurrency} clients, {server.workers} uvicorn worker(s); HTTP " + \
        ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))
    return Result(backend, case, n_events, seconds, latencies, cpu, note), statuses, bodies


def run_http(backend: str, url: str, db: Database, account_ids: list[str], hot: str, args: argparse.Namespace,
             tmp: Path, checks: list[str]) -> list[Result]:
    rng, out = random.Random(2), []
    workers = args.pg_workers if backend == "postgresql" else 1
    warm = [("/v1/usage", json.dumps(event(f"warm-{i}", rng.choice(account_ids))).encode()) for i in range(72)]
    server = Server(url, workers, tmp / f"uvicorn-{backend}.log")
    try:
        server.wait_ready()
        # (b) batches of 1000 over all accounts
        batches = [("/v1/usage/batch", json.dumps({"events": [event(f"b-{j}-{i}", rng.choice(account_ids))
                                                              for i in range(args.batch)]}).encode())
                   for j in range(max(1, args.events // args.batch))]
        res, statuses, bodies = http_case(backend, "(b) HTTP batch", server, batches, len(batches) * args.batch,
                                          args.batch_clients, list(warm[:8]))
        accepted = sum(r["status"] == "accepted" for b in bodies for r in json.loads(b).get("results", []))
        checks.append(f"{backend} (b): {accepted}/{res.events} events accepted")
        out.append(res)
        # (c) single events over all accounts
        singles = [("/v1/usage", json.dumps(event(f"c-{i}", rng.choice(account_ids))).encode())
                   for i in range(args.events // 10)]
        res, statuses, _ = http_case(backend, "(c) HTTP single", server, singles, len(singles), args.clients,
                                     list(warm[8:40]))
        checks.append(f"{backend} (c): {statuses[201]}/{res.events} accepted (201)")
        out.append(res)
        # (d) one hot wallet funded for exactly K events; 2K sent
        k = args.events // 40
        hot_events = [("/v1/usage", json.dumps(event(f"d-{i}", hot)).encode()) for i in range(2 * k)]
        res, statuses, _ = http_case(backend, "(d) HTTP hot wallet", server, hot_events, len(hot_events),
                                     args.clients, list(warm[40:]))
        out.append(res)
    finally:
        server.stop()
    with db.sessions() as s:
        balance = s.scalar(text("SELECT balance FROM wallets WHERE account_id = :a AND kind = 'conversation'"),
                           {"a": hot})
        ledger = s.scalar(text("SELECT COALESCE(SUM(e.amount), 0) FROM wallet_entries e JOIN wallets w "
                               "ON w.id = e.wallet_id WHERE w.account_id = :a AND w.kind = 'conversation'"),
                          {"a": hot})
        stored = s.scalar(text("SELECT COUNT(*) FROM usage_events WHERE account_id = :a"), {"a": hot})
        broken = s.scalar(text("SELECT COUNT(*) FROM wallets w WHERE w.balance <> (SELECT COALESCE(SUM(amount), 0) "
                               "FROM wallet_entries e WHERE e.wallet_id = w.id)"))
    ok = statuses[201] == k and stored == k and balance == 0 and ledger == balance
    checks.append(f"{backend} (d): K={k}, sent {2 * k}: 201×{statuses[201]}, 402×{statuses[402]}, stored {stored}, "
                  f"balance {balance}, ledger sum {ledger} → {'zero overdraft OK' if ok else 'MISMATCH'}")
    checks.append(f"{backend}: wallets whose balance ≠ ledger sum: {broken}")
    out[-1].note += " — " + ("no overdraft" if ok else "OVERDRAFT/MISMATCH")
    return out


def run_backend(backend: str, args: argparse.Namespace, checks: list[str]) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="langganan-bench-") as tmp_name:
        tmp = Path(tmp_name)
        console.log(f"[bold]{backend}[/]: fresh database, {args.accounts} accounts")
        url = fresh_database(backend, tmp)
        db = Database(url)
        try:
            account_ids, hot = seed(db, args.accounts, args.events // 40)
            console.log(f"{backend}: (a) raw SQL, {args.events} events")
            results = [raw_writes(backend, url, account_ids, args.events, args.batch)]
            console.log(f"{backend}: (b)(c)(d) over HTTP")
            results += run_http(backend, url, db, account_ids, hot, args, tmp, checks)
        finally:
            db.dispose()
        return results


def target_cell(res: Result, raw: Result | None) -> str:
    if res.backend != "postgresql" or res.case[:3] not in ("(b)", "(c)", "(d)"):
        return ""
    kind = {"(b)": "batch", "(c)": "single", "(d)": "hot"}[res.case[:3]]
    met = {"batch": raw is not None and res.rate >= 0.5 * raw.rate, "single": res.rate >= 3000,
           "hot": res.rate >= 1500 and "no overdraft" in res.note}[kind]
    return f"{TARGETS[kind]}: {'[green]met[/]' if met else '[red]below[/]'}"


def report(results: list[Result]) -> None:
    table = Table(title="langganan usage ingestion", show_lines=False)
    for col in ("backend", "case", "events", "seconds", "events/s", "p50 ms", "p99 ms", "vs (a)",
                "CPU client/server/pg", "target (PostgreSQL)", "notes"):
        table.add_column(col, justify="right" if col in ("events", "seconds", "events/s", "p50 ms", "p99 ms",
                                                          "vs (a)") else "left")
    raws = {r.backend: r for r in results if r.case.startswith("(a)")}
    for r in results:
        raw = raws.get(r.backend)
        ratio = f"{r.rate / raw.rate:.1%}" if raw and raw is not r and raw.rate else ""
        cpu = "/".join(f"{r.cpu.get(k, 0):.2f}" for k in ("client", "server", "postgres"))
        table.add_row(r.backend, r.case, f"{r.events:,}", f"{r.seconds:.2f}", f"{r.rate:,.0f}", f"{r.pct(.5):.1f}",
                      f"{r.pct(.99):.1f}", ratio, cpu, target_cell(r, raw), r.note)
    console.print(table)
    console.print("CPU = cores busy on average (2 = both cores); pg = all postgres processes on the machine. "
                  "(a) p50/p99 are per 1000-event transaction, (b) per 1000-event request, (c)(d) per event.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40_000,
                        help="events for (a) and (b); (c) sends N/10, (d) funds K=N/40 and sends 2K (default 40000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--accounts", type=int, default=100, help="accounts the events are spread over")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch / raw transaction (≤ 1000)")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent clients for (b)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients for (c) and (d)")
    parser.add_argument("--pg-workers", type=int, default=2, help="uvicorn worker processes on PostgreSQL")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:  # the server subprocess
        import uvicorn

        uvicorn.run("ingest:make_app", factory=True, host="127.0.0.1", port=args.serve[0], workers=args.serve[1],
                    app_dir=str(HERE), log_level="warning", access_log=False)
        return
    args.batch = max(1, min(args.batch, 1000))
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    checks: list[str] = []
    results: list[Result] = []
    started = time.perf_counter()
    for backend in backends:
        results += run_backend(backend, args, checks)
    report(results)
    for line in checks:
        console.print(f"check: {line}")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "serve"},
                                "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
                                "seconds": round(time.perf_counter() - started, 1),
                                "results": [r.summary() for r in results], "checks": checks}, indent=2))
    console.print(f"results written to {path.relative_to(HERE.parent)} (total {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
