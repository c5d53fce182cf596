"""Usage-event ingestion benchmark, SQLite and PostgreSQL in one run. It prints numbers; it never fails on them.

(a) raw SQL: the rows the app writes per event (its ledger entry), plain batched SQL, 1000 events per transaction.
(a2) minimal prepaid debit (PostgreSQL): the least SQL doing a debit's essential work, set-based, 4 connections.
(b) POST /v1/usage/batch (1000 events) over HTTP.  (c) POST /v1/usage over HTTP, many accounts.
(d) POST /v1/usage on ONE wallet funded for exactly K events; 2K are sent; checks zero overdraft.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from langganan.accounts import service as accounts
from langganan.app import create_app, open_database, prepare
from langganan.config import Settings
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.errors import InvalidRequest
from langganan.kit.migrate import upgrade
from langganan.onboarding import service as onboarding
from langganan.payments.gateway import (
    CardDetails,
    ChargeResult,
    InvalidCardToken,
    InvalidSignature,
    Notification,
    QrCode,
    RefundResult,
    VirtualAccount,
)
from langganan.wallets import repository
from langganan.wallets import service as wallets

HERE = Path(__file__).resolve().parent
KEY = "lgn_bench_admin_key"
METER, PRICE = "conversation_reply", 30  # Rp30 from the conversation wallet
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "langganan_bench"
console = Console(width=None if sys.stdout.isatty() else 200)
Request = tuple[str, bytes]  # path, pre-encoded JSON body


class NoPayments:
    """Live mode needs a real gateway; usage moves no money through one, so this one refuses everything."""

    name = "none"

    def card_details(self, token: str) -> CardDetails:
        raise InvalidCardToken()

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        return ChargeResult(False, "none", "card_declined", "The bench takes no payments.")

    def create_virtual_account(self, *, reference: str, amount: int, currency: str, bank: str,
                               expires_at: datetime) -> VirtualAccount:
        raise InvalidRequest("no_payments", "The bench takes no payments.")

    def verify_notification(self, headers: Mapping[str, str], body: bytes, wall_now: datetime) -> Notification:
        raise InvalidSignature()

    def create_qris(self, *, reference: str, amount: int, currency: str, expires_at: datetime) -> QrCode:
        raise InvalidRequest("no_payments", "The bench takes no payments.")

    def status(self, reference: str) -> Notification | None:
        return None

    def refund(self, *, reference: str, provider_ref: str, amount: int, currency: str, idempotency_key: str,
               reason: str) -> RefundResult:
        return RefundResult(False, "none", failure_code="no_payments")

    def close(self) -> None:
        pass


def make_app() -> Any:
    """uvicorn factory of the server subprocess (`ingest:make_app`); the database URL comes from the environment."""
    settings = Settings(database_url=os.environ["BENCH_DATABASE_URL"], mode="live", bootstrap_api_key=KEY)
    return create_app(settings, open_database(settings.database_url, settings), gateway=NoPayments())


@dataclass
class Result:
    backend: str
    case: str
    events: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    cpu: dict[str, float]  # cores busy on average: client, server, pg, machine
    note: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        lat = sorted(self.latencies_ms)
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0

    def summary(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in ("backend", "case", "events", "seconds", "cpu", "note")},
                "events_per_s": round(self.rate, 1), "requests": len(self.latencies_ms),
                "p50_ms": round(self.pct(0.5), 2), "p99_ms": round(self.pct(0.99), 2)}


def cpu_snapshot(server_pid: int | None) -> dict[str, Any]:
    """CPU seconds so far (read from /proc): this process, the server's process tree, postgres backends of the
    bench database, and the whole machine."""
    tick, stats = os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            raw = (entry / "stat").read_text() if entry.name.isdigit() else ""
            if raw:
                rest = raw[raw.rindex(")") + 2:].split()
                ours = "(postgres)" in raw and PG_DB.encode() in (entry / "cmdline").read_bytes()
                stats[int(entry.name)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / tick, ours)
    tree = {server_pid} if server_pid else set()
    for _ in range(3):  # server -> uvicorn workers -> their helpers
        tree |= {pid for pid, (ppid, _t, _o) in stats.items() if ppid in tree}
    machine = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return {"client": time.process_time(), "server": sum(stats[p][1] for p in tree if p in stats),
            "pg": {pid: t for pid, (_p, t, ours) in stats.items() if ours},  # per pid: backends come and go
            "machine": (sum(machine) - sum(machine[3:5])) / tick}


def cpu_share(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, float]:
    def used(a: Any, b: Any) -> float:
        return sum(t - a.get(pid, 0.0) for pid, t in b.items()) if isinstance(b, dict) else b - a

    return {k: round(used(before[k], after[k]) / seconds, 2) for k in before}


# --- databases -----------------------------------------------------------------------------------------------

def fresh_pg(admin_url: str, name: str) -> str:
    """The PostgreSQL database `name` made afresh and migrated; its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


def fresh_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        return url
    return fresh_pg(PG_ADMIN, PG_DB)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Database, n_accounts: int, hot_events: int) -> tuple[list[str], str]:
    """Accounts with a huge conversation balance, and one hot account funded for exactly `hot_events` events."""
    prepare(Settings(database_url=db.url, mode="sandbox", bootstrap_api_key=KEY), db, migrate_if_empty=False)
    now = wall_now()
    with db.transaction() as s:
        ids = [onboarding.create(s, accounts.NewAccount(name=f"Bench {i}", email=f"bench{i}@example.id"), now).id
               for i in range(n_accounts + 1)]
        for account_id in ids[:-1]:
            wallets.record(s, repository.get(s, account_id, "conversation", for_update=True), "top_up", 10**12, now,
                           reference="bench")
        hot, target = repository.get(s, ids[-1], "conversation", for_update=True), hot_events * PRICE
        granted = min(hot.granted_balance, target)  # keep granted <= balance; the ledger still sums to balance
        wallets.record(s, hot, "adjustment", target - hot.balance, now, granted=granted - hot.granted_balance,
                       reference="bench: exactly K events")
    return ids[:-1], ids[-1]


def raw_writes(backend: str, url: str, account_ids: list[str], n: int, batch: int) -> Result:
    """(a): plain DB-API, autocommit with explicit BEGIN/COMMIT; rows are built before the clock starts."""
    if backend == "sqlite":
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")  # what langganan.kit.db sets
        ph, ts = "?", datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    else:
        conn, ph, ts = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={PG_DB}", autocommit=True), "%s", \
            datetime.now(UTC)
    cur = conn.cursor()
    cur.execute(f"SELECT id, account_id, balance FROM wallets WHERE kind = 'conversation' AND account_id IN "
                f"({', '.join([ph] * len(account_ids))})", account_ids)
    rows = cur.fetchall()
    balances, targets, rng, plan = {r[0]: r[2] for r in rows}, [(r[0], r[1]) for r in rows], random.Random(1), []
    for first in range(0, n, batch):
        entries = []
        for i in range(first, min(n, first + batch)):
            wallet_id, _account_id = rng.choice(targets)
            balances[wallet_id] -= PRICE
            entries.append((wallet_id, "usage", -PRICE, 0, balances[wallet_id], METER, 1, f"raw-{i}", "0" * 32, ts))
        plan.append((entries, [(balances[w], ts, w) for w in sorted({e[0] for e in entries})]))
    cols = "(wallet_id, type, amount, granted_amount, balance_after, meter, quantity, reference, body_hash, created_at)"
    ins_entry = f"INSERT INTO wallet_entries {cols} VALUES ({', '.join([ph] * 10)})"
    upd = f"UPDATE wallets SET balance = {ph}, updated_at = {ph} WHERE id = {ph}"
    latencies: list[float] = []
    before, start = cpu_snapshot(None), time.perf_counter()
    for entries, updates in plan:
        t0 = time.perf_counter()
        cur.execute("BEGIN")
        cur.executemany(ins_entry, entries)
        cur.executemany(upd, updates)
        cur.execute("COMMIT")
        latencies.append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - start
    cpu = cpu_share(before, cpu_snapshot(None), seconds)  # before close(): the backend's CPU goes with it
    conn.close()
    return Result(backend, "(a) raw SQL", n, seconds, latencies, cpu, f"1 connection, {batch} events/txn, executemany")


# The least SQL that does what a prepaid debit must: store the event under its id (unique), debit the
# wallet only if its balance covers the event, and record the balance after. One statement per batch
# of events, fed by arrays (unnest), with the wallets locked in id order; its own two tables in the
# bench database, so nothing of the application's schema (extra columns, indexes, the rollup) is paid.
_MIN_DEBIT = """
WITH e AS (
  SELECT * FROM unnest(%(ids)s::text[], %(wallets)s::text[], %(amounts)s::bigint[]) WITH ORDINALITY
    AS e(id, wallet_id, amount, n)
), w AS (
  SELECT id, balance FROM bench_min_wallets WHERE id IN (SELECT wallet_id FROM e) ORDER BY id FOR UPDATE
), c AS (
  SELECT e.id, e.wallet_id, e.amount, e.n,
         w.balance - sum(e.amount) OVER (PARTITION BY e.wallet_id ORDER BY e.n) AS balance_after
  FROM e JOIN w ON w.id = e.wallet_id
), ok AS (SELECT * FROM c WHERE balance_after >= 0
), ins AS (
  INSERT INTO bench_min_events (id, wallet_id, amount, balance_after)
  SELECT id, wallet_id, amount, balance_after FROM ok ORDER BY n RETURNING 1
), upd AS (
  UPDATE bench_min_wallets SET balance = bench_min_wallets.balance - d.total
  FROM (SELECT wallet_id, sum(amount) AS total FROM ok GROUP BY wallet_id) d
  WHERE bench_min_wallets.id = d.wallet_id RETURNING 1
)
SELECT (SELECT count(*) FROM ins)
"""


def minimal_debits(n: int, batch: int, n_wallets: int, connections: int = 4) -> Result:
    """(a2): `_MIN_DEBIT` from `connections` connections at once, `batch` events per transaction (PostgreSQL)."""
    dsn = f"host=127.0.0.1 user=postgres dbname={PG_DB}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_min_events, bench_min_wallets")
        conn.execute("CREATE TABLE bench_min_wallets (id text PRIMARY KEY, balance bigint NOT NULL)")
        conn.execute("CREATE TABLE bench_min_events (id text PRIMARY KEY, wallet_id text NOT NULL, "
                     "amount bigint NOT NULL, balance_after bigint NOT NULL)")
        conn.execute("INSERT INTO bench_min_wallets SELECT 'w' || i, 1000000000000 FROM generate_series(1, %s) i",
                     (n_wallets,))
    rng, plans = random.Random(1), []
    for first in range(0, n, batch):
        ids = [f"min-{i}" for i in range(first, min(n, first + batch))]
        plans.append({"ids": ids, "wallets": [f"w{rng.randint(1, n_wallets)}" for _ in ids],
                      "amounts": [PRICE] * len(ids)})
    queues = [plans[i::connections] for i in range(connections)]
    latencies: list[float] = []
    stored: list[int] = []
    conns = [psycopg.connect(dsn) for _ in range(connections)]
    for c in conns:  # prepared on each connection before the clock starts
        c.execute("SELECT 1")
    ready = threading.Barrier(connections + 1)

    def work(conn: psycopg.Connection[Any], todo: list[dict[str, Any]]) -> None:
        ready.wait()
        for plan in todo:
            t0 = time.perf_counter()
            row = conn.execute(_MIN_DEBIT, plan, prepare=True).fetchone()
            conn.commit()
            latencies.append((time.perf_counter() - t0) * 1000)
            stored.append(row[0] if row else 0)

    threads = [threading.Thread(target=work, args=(c, q)) for c, q in zip(conns, queues, strict=True)]
    for t in threads:
        t.start()
    before = cpu_snapshot(None)
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    cpu = cpu_share(before, cpu_snapshot(None), seconds)
    for c in conns:
        c.close()
    return Result("postgresql", "(a2) minimal debit", n, seconds, latencies, cpu,
                  f"{connections} connections, {batch} events/txn, one unnest statement; stored {sum(stored)}")


# --- the app over HTTP ---------------------------------------------------------------------------------------

class Server:
    """uvicorn in a subprocess (own process group) on 127.0.0.1 and a free port; `stop()` always ends it."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port = free_port()
        self.workers, self.log = workers, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port), str(workers)],
                                         env={**os.environ, "BENCH_DATABASE_URL": url}, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server did not come up: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group we started
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)


class RawConnection:
    """A minimal HTTP/1.1 keep-alive POST client on asyncio streams: a few % of httpx's client CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip().lower() for k, _, v in (line.partition(":") for line in lines[1:])}
        payload = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection") == "close":
            self.close()
        return int(lines[0].split()[1]), payload

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def blast(server: Server, warmup: list[Request], timed: list[Request], concurrency: int, client: str,
                ) -> tuple[float, list[float], Counter[int], list[bytes], dict[str, float]]:
    """Send `warmup`, then time `timed`, from `concurrency` keep-alive connections (one request in flight each)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    bodies: list[bytes] = []
    shared = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}", timeout=httpx.Timeout(120),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    ) if client == "httpx" else None
    conns = [RawConnection(server.port) for _ in range(concurrency)]

    async def worker(items: list[Request], record: bool, conn: RawConnection) -> None:
        while items:
            path, body = items.pop()
            t0 = time.perf_counter()
            if shared is not None:
                r = await shared.post(path, content=body)
                status, payload = r.status_code, r.content
            else:
                status, payload = await asyncio.wait_for(conn.post(path, body), 120)
            if record:
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] += 1
                bodies.append(payload)

    try:
        await asyncio.gather(*(worker(warmup, False, c) for c in conns))
        todo = list(reversed(timed))
        before, start = cpu_snapshot(server.proc.pid), time.perf_counter()
        await asyncio.gather(*(worker(todo, True, c) for c in conns))
        seconds = time.perf_counter() - start
        return seconds, latencies, statuses, bodies, cpu_share(before, cpu_snapshot(server.proc.pid), seconds)
    finally:
        for c in conns:
            c.close()
        if shared is not None:
            await shared.aclose()


def server_stack() -> str:
    """What uvicorn's "auto" picks in the server subprocess (same environment): its HTTP parser and event loop."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http}+{loop}"


def event(event_id: str, account_id: str) -> Request:
    return "/v1/usage", json.dumps({"id": event_id, "account_id": account_id, "meter": METER}).encode()


def run_http(backend: str, db: Database, account_ids: list[str], hot: str, args: argparse.Namespace, tmp: Path,
             checks: list[str]) -> list[Result]:
    rng, out, k = random.Random(2), [], args.events // 40
    warm = [event(f"warm-{i}", rng.choice(account_ids)) for i in range(2 * args.clients + args.batch_clients)]
    batches = [("/v1/usage/batch", json.dumps({"events": [
        {"id": f"b-{j}-{i}", "account_id": rng.choice(account_ids), "meter": METER} for i in range(args.batch)]
    }).encode()) for j in range(max(1, args.events // args.batch))]
    singles = [event(f"c-{i}", rng.choice(account_ids)) for i in range(args.events // 10)]
    hot_events = [event(f"d-{i}", hot) for i in range(2 * k)]
    server = Server(db.url, args.pg_workers if backend == "postgresql" else 1, tmp / f"uvicorn-{backend}.log")

    def http_case(case: str, timed: list[Request], n_events: int, concurrency: int, warmup: list[Request],
                  ) -> tuple[Result, Counter[int], list[bytes]]:
        seconds, latencies, statuses, bodies, cpu = asyncio.run(blast(server, warmup, timed, concurrency, args.client))
        note = f"{concurrency} {args.client} clients, {server.workers} uvicorn worker(s), {server_stack()}; HTTP " + \
            ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))
        return Result(backend, case, n_events, seconds, latencies, cpu, note), statuses, bodies

    try:
        server.wait_ready()
        res, _, bodies = http_case("(b) HTTP batch", batches, len(batches) * args.batch, args.batch_clients,
                                   warm[:args.batch_clients])
        accepted = sum(r["status"] == "accepted" for b in bodies for r in json.loads(b).get("results", []))
        checks.append(f"{backend} (b): {accepted}/{res.events} events accepted")
        out.append(res)
        res, statuses, _ = http_case("(c) HTTP single", singles, len(singles), args.clients,
                                     warm[args.batch_clients:-args.clients])
        checks.append(f"{backend} (c): {statuses[201]}/{res.events} events accepted (201)")
        out.append(res)
        res, statuses, _ = http_case("(d) HTTP hot wallet", hot_events, len(hot_events), args.clients,
                                     warm[-args.clients:])
        out.append(res)
    finally:
        server.stop()
    with db.sessions() as s:
        balance, ledger, stored = s.execute(text(
            "SELECT w.balance, (SELECT COALESCE(SUM(amount), 0) FROM wallet_entries e WHERE e.wallet_id = w.id), "
            "(SELECT COUNT(*) FROM wallet_entries u WHERE u.wallet_id = w.id AND u.type = 'usage') FROM wallets w "
            "WHERE w.account_id = :a AND w.kind = 'conversation'"), {"a": hot}).one()
        broken = s.scalar(text("SELECT COUNT(*) FROM wallets w WHERE w.balance <> (SELECT COALESCE(SUM(amount), 0) "
                               "FROM wallet_entries e WHERE e.wallet_id = w.id)"))
    ok = statuses[201] == k and stored == k and balance == 0 and ledger == balance
    checks.append(f"{backend} (d): K={k}, sent {2 * k}: 201×{statuses[201]}, 402×{statuses[402]}, stored {stored}, "
                  f"balance {balance}, ledger sum {ledger} → {'zero overdraft' if ok else 'MISMATCH'}")
    checks.append(f"{backend}: wallets whose balance ≠ ledger sum: {broken}")
    out[-1].note += " — " + ("zero overdraft" if ok else "OVERDRAFT/MISMATCH")
    return out


def run_backend(backend: str, args: argparse.Namespace, checks: list[str]) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="langganan-bench-") as tmp:
        console.log(f"[bold]{backend}[/]: fresh database, {args.accounts} accounts")
        db = open_database(fresh_database(backend, Path(tmp)))
        try:
            account_ids, hot = seed(db, args.accounts, args.events // 40)
            console.log(f"{backend}: (a) raw SQL, {args.events:,} events")
            results = [raw_writes(backend, db.url, account_ids, args.events, args.batch)]
            if backend == "postgresql":
                console.log(f"{backend}: (a2) minimal prepaid debit, {args.events:,} events, 4 connections")
                results.append(minimal_debits(args.events, args.batch, args.accounts))
            console.log(f"{backend}: (b) (c) (d) over HTTP")
            return results + run_http(backend, db, account_ids, hot, args, Path(tmp), checks)
        finally:
            db.dispose()


def target(res: Result, minimal: Result | None) -> str:
    """The issue's targets (issue 13), shown next to the PostgreSQL numbers (information only)."""
    if res.backend != "postgresql" or res.case[:3] not in ("(b)", "(c)", "(d)"):
        return ""
    goal, met = {"(b)": ("≥ 50% of (a2)", minimal is not None and res.rate >= 0.5 * minimal.rate),
                 "(c)": ("≥ 5.000 ev/s", res.rate >= 5000),
                 "(d)": ("≥ 5.000 ev/s, 0 overdraft", res.rate >= 5000 and "zero overdraft" in res.note)}[res.case[:3]]
    return f"{goal}: {'[green]met[/]' if met else '[red]below[/]'}"


def report(results: list[Result]) -> None:
    table = Table(title="langganan usage ingestion")
    for col in ("backend", "case", "events", "seconds", "events/s", "p50 ms", "p99 ms", "vs (a)", "vs (a2)",
                "CPU c/s/pg/all", "target (PostgreSQL)", "notes"):
        table.add_column(col, justify="right" if col in ("events", "seconds", "events/s", "p50 ms", "p99 ms",
                                                          "vs (a)", "vs (a2)") else "left")
    raws = {r.backend: r for r in results if r.case.startswith("(a)")}
    minimal = {r.backend: r for r in results if r.case.startswith("(a2)")}
    for r in results:
        raw, least = raws.get(r.backend), minimal.get(r.backend)
        ratio = f"{r.rate / raw.rate:.1%}" if raw and raw.rate and r.case.startswith("(b)") else ""
        ratio2 = f"{r.rate / least.rate:.1%}" if least and least.rate and r.case.startswith("(b)") else ""
        cpu = "/".join(f"{r.cpu.get(k, 0):.2f}" for k in ("client", "server", "pg", "machine"))
        table.add_row(r.backend, r.case, f"{r.events:,}", f"{r.seconds:.2f}", f"{r.rate:,.0f}", f"{r.pct(.5):.1f}",
                      f"{r.pct(.99):.1f}", ratio, ratio2, cpu, target(r, least), r.note)
    console.print(table)
    console.print(f"p50/p99: per 1000-event transaction (a, a2), per 1000-event request (b), per event (c, d). "
                  f"CPU: cores busy on average in the timed window ({os.cpu_count()} cores) by this client / the "
                  "uvicorn processes / postgres backends of the bench database / the whole machine (anything running).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40_000,
                        help="events for (a) and (b); (c) sends N/10; (d) funds K=N/40 and sends 2K (default 40000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--accounts", type=int, default=100, help="accounts the events are spread over (100)")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch and raw transaction (≤ 1000)")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent clients for (b) (4)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients for (c) and (d) (32)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="HTTP client: minimal asyncio keep-alive client (default) or httpx.AsyncClient")
    parser.add_argument("--pg-workers", type=int, default=2, help="uvicorn worker processes on PostgreSQL (2)")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:  # we are the server subprocess
        import uvicorn

        uvicorn.run("ingest:make_app", factory=True, host="127.0.0.1", port=args.serve[0], workers=args.serve[1],
                    app_dir=str(HERE), log_level="warning", access_log=False)
        return
    args.batch, args.clients, args.batch_clients = max(1, min(args.batch, 1000)), max(1, args.clients), \
        max(1, args.batch_clients)
    args.events = max(args.events, 40)
    started, checks, results = time.perf_counter(), [], []
    load = os.getloadavg()[0]
    console.log(f"load average {load:.1f} on {os.cpu_count()} cores" + (
        " — [yellow]the machine is busy; numbers will be noisy[/]" if load > 0.5 * (os.cpu_count() or 1) else ""))
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        try:
            results += run_backend(backend, args, checks)
        except Exception as exc:  # report the other backend anyway
            console.print_exception(max_frames=3)
            checks.append(f"{backend}: FAILED ({type(exc).__name__}: {exc})")
    report(results)
    for line in checks:
        console.print(f"check: {line}")
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "serve"},
                                "cpus": os.cpu_count(), "load_avg_1m_before": load,
                                "load_avg_1m_after": os.getloadavg()[0],
                                "seconds": round(time.perf_counter() - started, 1),
                                "results": [r.summary() for r in results], "checks": checks}, indent=2))
    console.print(f"results: {path.relative_to(HERE.parent)} (whole run {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
