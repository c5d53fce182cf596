"""Usage ingest with a long ledger (issue 17, "Keep history without slowing down"): batch ingest rate on PostgreSQL
with an empty ledger, then with `--rows` (10 million) ledger rows already present, as a ratio. It prints numbers; it
never fails on them.

The ingest path is POST /v1/usage/batch's own (`usage.endpoints.run_ingest`: one transaction per 1000-event batch),
called from `--processes` (2) processes, as two uvicorn workers would, without HTTP in front (HTTP's cost does not
grow with the ledger; leaving it out makes the ratio stricter). Event ids are random UUIDs (what clients send) or
time-ordered (UUIDv7-like). The ledger rows are made by INSERT ... SELECT generate_series, with random UUIDs as
usage ids (gen_random_uuid()), spread over the bench accounts' wallets, the indexes built after the load (as a
grown ledger's would be, but packed), then the usage-id index read into shared buffers (pg_prewarm: as hours of
traffic would have). The empty ledger is a second database beside it, seeded alike; the two are
measured in turn, `--rounds` (2) times, each measurement right after a CHECKPOINT and `--seconds` (20) long; the
medians are compared. `--no-checkpoint` measures between checkpoints instead (what a long checkpoint_timeout
gives most of the time).

Two servers: the shared one on 127.0.0.1:5432 as it is configured (not changed), and a temporary cluster this
script starts itself (initdb and pg_ctl as the `postgres` OS user, in a temporary directory, on another port, with
production-like settings: shared_buffers=4GB, max_wal_size=8GB, checkpoint_timeout=30min), stopped and removed at
the end. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from langganan.app import make_context, open_database
from langganan.config import Settings
from langganan.usage.endpoints import run_ingest
from langganan.usage.service import UsageIn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import KEY, METER, NoPayments, free_port, fresh_pg, seed  # (bench/ingest.py, beside this file)

HERE = Path(__file__).resolve().parent
SHARED_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB = "langganan_bench_history"  # and _empty: the ledger of 10 million rows, and the empty one
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TUNED = {"shared_buffers": "4GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}
LOAD_CONNECTIONS = 2  # the ledger is generated in this many parts at once
SHOWN = ("shared_buffers", "max_wal_size", "checkpoint_timeout", "full_page_writes", "synchronous_commit")
console = Console(width=None if sys.stdout.isatty() else 200)


@dataclass
class Measure:
    server: str
    ledger_rows: int
    ids: str  # random | ordered
    events: int
    seconds: float
    wal_mb: float
    full_page_images: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


# --- the ingest workers ---------------------------------------------------------------------------------------

def _uuid7_like(seq: int) -> str:
    """A time-ordered id: milliseconds since the epoch, then a counter and random bits (UUIDv7's layout)."""
    ms = time.time_ns() // 1_000_000
    tail = random.getrandbits(62)
    return f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7{seq & 0xFFF:03x}-{0x8000 | (tail >> 48) & 0x3FFF:04x}-" \
           f"{tail & 0xFFFFFFFFFFFF:012x}"


def _ingest_for(url: str, accounts: list[str], seconds: float, ordered: bool, batch: int, ready: Any,
                results: Any) -> None:
    """One process: ready (imports done, connected, one small batch in), then batches of `batch` events through
    run_ingest for `seconds`; puts (events accepted, when it began, when it ended)."""
    settings = Settings(database_url=url, mode="live", bootstrap_api_key=KEY)
    db = open_database(url, settings)
    ctx = make_context(settings, db, gateway=NoPayments())
    rng, seq, done = random.Random(os.getpid()), 0, 0

    def events(n: int) -> list[UsageIn]:
        nonlocal seq
        out = []
        for _ in range(n):
            seq += 1
            out.append(UsageIn(id=_uuid7_like(seq) if ordered else str(uuid.uuid4()),
                               account_id=rng.choice(accounts), meter=METER))
        return out

    run_ingest(ctx, events(10))  # (warm: the catalog read, the connection made)
    ready.wait()
    began = time.time()
    while time.time() < began + seconds:
        results_of = run_ingest(ctx, events(batch))
        done += sum(r.status == "accepted" for r in results_of)
    results.put((done, began, time.time()))
    db.dispose()


def measure(url: str, server: str, accounts: list[str], rows: int, ordered: bool, args: argparse.Namespace
            ) -> Measure:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    mp = multiprocessing.get_context("spawn")
    ready, results = mp.Barrier(args.processes + 1), mp.Queue()
    workers = [mp.Process(target=_ingest_for, args=(url, accounts, args.seconds, ordered, args.batch, ready, results))
               for _ in range(args.processes)]
    for w in workers:
        w.start()
    with engine.connect() as conn:
        if args.checkpoint:
            conn.execute(text("CHECKPOINT"))
        wal_before = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()
        fpi_before = conn.execute(text("SELECT wal_fpi FROM pg_stat_wal")).scalar()
        ready.wait()  # every worker warm: go
        found = [results.get() for _ in workers]
        wal = conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :b)"), {"b": wal_before}).scalar()
        fpi = conn.execute(text("SELECT wal_fpi FROM pg_stat_wal")).scalar()
    for w in workers:
        w.join()
    engine.dispose()
    elapsed = max(end for _n, _b, end in found) - min(began for _n, began, _e in found)
    return Measure(server, rows, "ordered" if ordered else "random", sum(n for n, _b, _e in found), elapsed,
                   round(float(wal or 0) / 2**20, 1), int(fpi or 0) - int(fpi_before or 0))


# --- the databases --------------------------------------------------------------------------------------------

def drop(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def load_ledger(url: str, rows: int) -> tuple[float, int]:
    """`rows` usage entries over every wallet of the bench accounts, random UUIDs as ids, indexes built after;
    (seconds, size of the unique usage-id index in bytes)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'wallet_entries' "
                                    "AND indexname <> 'wallet_entries_pkey'")).all()
        for name, _definition in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        wallets = conn.execute(text("SELECT array_agg(id ORDER BY id), array_agg(account_id ORDER BY id) FROM wallets "
                                    "WHERE kind = 'conversation'")).one()
    chunks = [(1 + rows * k // LOAD_CONNECTIONS, rows * (k + 1) // LOAD_CONNECTIONS) for k in range(LOAD_CONNECTIONS)]

    def insert(chunk: tuple[int, int]) -> None:
        with engine.connect() as conn:
            conn.execute(text(
                "INSERT INTO wallet_entries (wallet_id, account_id, type, amount, granted_amount, balance_after, "
                "meter, quantity, reference, created_at, body_hash, occurred_at) "
                "SELECT (CAST(:w AS text[]))[1 + i % cardinality(CAST(:w AS text[]))], "
                "(CAST(:a AS text[]))[1 + i % cardinality(CAST(:a AS text[]))], 'usage', -30, 0, 10^12 - i * 30, "
                ":meter, 1, gen_random_uuid()::text, now() - (:n - i) * interval '1 second', md5(i::text), "
                "now() - (:n - i) * interval '1 second' FROM generate_series(CAST(:first AS bigint), :last) AS i"),
                {"w": wallets[0], "a": wallets[1], "meter": METER, "n": rows, "first": chunk[0], "last": chunk[1]})

    with ThreadPoolExecutor(LOAD_CONNECTIONS) as pool:
        list(pool.map(insert, chunks))
    with engine.connect() as conn:
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for _name, definition in indexes:
            conn.execute(text(definition))
        conn.execute(text("VACUUM ANALYZE wallet_entries"))
        # CREATE INDEX writes around shared buffers: read the index in, as hours of traffic would have
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        conn.execute(text("SELECT pg_prewarm('ux_wallet_entries_usage_event')"))
        size = conn.execute(text("SELECT pg_relation_size('ux_wallet_entries_usage_event')")).scalar()
    engine.dispose()
    return time.perf_counter() - started, int(size or 0)


def settings_of(url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {name: str(conn.execute(text(f"SHOW {name}")).scalar()) for name in SHOWN}
    engine.dispose()
    return found


@contextmanager
def temporary_cluster() -> Iterator[str]:
    """A PostgreSQL 15 cluster of its own with TUNED settings (the shared server is left as it is); its admin URL.
    initdb refuses root, so it runs as the `postgres` OS user."""
    home = Path(tempfile.mkdtemp(prefix="langganan-pg-"))
    shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run([*as_postgres, str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True)
        options = " ".join([f"-p {port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={home}",
                            *(f"-c {k}={v}" for k, v in TUNED.items())])
        subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                        str(home / "log"), "-w", "start"], check=True, capture_output=True)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


# --- the run --------------------------------------------------------------------------------------------------

def run_server(server: str, admin_url: str, args: argparse.Namespace) -> tuple[list[Measure], dict[str, Any]]:
    """Two databases on one server, seeded alike: one whose ledger stays (nearly) empty, one with `--rows` ledger
    rows; measured in turn, `--rounds` times, so that other work on the machine weighs on both alike."""
    urls, accounts = {}, {}
    for rows, name in ((0, f"{DB}_empty"), (args.rows, DB)):
        urls[rows] = fresh_pg(admin_url, name)
        db = open_database(urls[rows])
        accounts[rows], _hot = seed(db, args.accounts, 1)
        db.dispose()
    console.print(f"{server}: loading {args.rows:,} ledger rows ...")
    load_seconds, index_bytes = load_ledger(urls[args.rows], args.rows)
    console.print(f"{server}: loaded in {load_seconds:.0f} s (usage-id index {index_bytes / 2**20:.0f} MB)")
    kinds = [k == "ordered" for k in (["random", "ordered"] if args.ids == "both" else [args.ids])]
    found = []
    for round_ in range(args.rounds):
        for ordered in kinds:
            for rows in (0, args.rows):
                found.append(measure(urls[rows], server, accounts[rows], rows, ordered, args))
                console.print(f"{server} round {round_ + 1}: {found[-1].ids} ids, {rows:,} rows: "
                              f"{found[-1].rate:,.0f} events/s")
    about = {"server": server, "settings": settings_of(urls[0]), "load_seconds": round(load_seconds, 1),
             "usage_id_index_mb": round(index_bytes / 2**20, 1), "load_average": os.getloadavg()}
    if not args.keep:
        for name in (f"{DB}_empty", DB):
            drop(admin_url, name)
    return found, about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="ledger rows present in the second run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each case, empty and full in turn")
    parser.add_argument("--processes", type=int, default=2, help="ingesting processes")
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction (one batch request)")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--ids", choices=("random", "ordered", "both"), default="both")
    parser.add_argument("--server", choices=("shared", "tuned", "both"), default="both")
    parser.add_argument("--checkpoint", action=argparse.BooleanOptionalAction, default=True,
                        help="start each measurement right after a CHECKPOINT (the worst case: every page's first "
                             "change writes its full image to the WAL); --no-checkpoint: between checkpoints")
    parser.add_argument("--keep", action="store_true", help=f"leave the databases {DB}(_empty) on the shared server")
    args = parser.parse_args()
    measures: list[Measure] = []
    servers: list[dict[str, Any]] = []
    if args.server in ("shared", "both"):
        found, about = run_server("shared", SHARED_ADMIN, args)
        measures += found
        servers.append(about)
    if args.server in ("tuned", "both"):
        with temporary_cluster() as admin_url:
            found, about = run_server("tuned", admin_url, args)
        measures += found
        servers.append(about)

    table = Table("server", "ids", "ledger rows", "events/s (median)", "each round", "vs empty", "WAL MB/s",
                  "FPI/s", title=f"batch usage ingest, {args.processes} processes, {args.batch} events a batch, "
                                 f"{args.seconds:g} s each, {args.rounds} rounds"
                                 f"{', each after a CHECKPOINT' if args.checkpoint else ', no CHECKPOINT forced'}")
    cases: dict[tuple[str, str, int], list[Measure]] = {}
    for m in measures:
        cases.setdefault((m.server, m.ids, m.ledger_rows), []).append(m)
    for (server, ids, rows), ms in cases.items():
        rate = statistics.median(m.rate for m in ms)
        base = statistics.median(m.rate for m in cases[(server, ids, 0)])
        seconds = sum(m.seconds for m in ms)
        table.add_row(server, ids, f"{rows:,}", f"{rate:,.0f}", " / ".join(f"{m.rate:,.0f}" for m in ms),
                      f"{rate / base:.0%}" if base else "", f"{sum(m.wal_mb for m in ms) / seconds:.1f}",
                      f"{sum(m.full_page_images for m in ms) / seconds:,.0f}")
    console.print(table)
    for about in servers:
        console.print(f"{about['server']}: {about['settings']}; {args.rows:,} rows loaded in "
                      f"{about['load_seconds']} s; usage-id index {about['usage_id_index_mb']} MB; load average at the "
                      "end "
                      f"{' '.join(f'{x:.1f}' for x in about['load_average'])}")
    out = HERE / "results" / f"ingest_history-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "servers": servers,
                               "measures": [{**asdict(m), "events_per_s": round(m.rate, 1)} for m in measures]},
                              indent=2))
    console.print(f"written {out}")


if __name__ == "__main__":
    main()
