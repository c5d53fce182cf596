"""Usage ingest with a long ledger (issue 17, "Keep history without slowing down"): batch ingest rate on PostgreSQL
with an empty ledger, then with `--rows` (10 million) ledger rows already present, as a ratio. It prints numbers; it
never fails on them.

The ingest path is POST /v1/usage/batch's own (`usage.endpoints.run_ingest`: one transaction per 1000-event batch),
called from `--processes` (2) processes, as two uvicorn workers would, without HTTP in front (HTTP's cost does not
grow with the ledger; leaving it out makes the ratio stricter). Event ids are random UUIDs (what clients send) or
time-ordered (UUIDv7-like). The ledger rows are made by INSERT ... SELECT generate_series, with random UUIDs as
usage ids (gen_random_uuid()), spread over the bench accounts' wallets, the indexes built after the load (as a
grown ledger's would be, but packed). Each measurement starts right after a CHECKPOINT and lasts `--seconds` (30).

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
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
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
from langganan.kit.migrate import upgrade
from langganan.usage.endpoints import run_ingest
from langganan.usage.service import UsageIn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import KEY, METER, NoPayments, seed  # (bench/ingest.py, beside this file)

HERE = Path(__file__).resolve().parent
SHARED_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB = "langganan_bench_history"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TUNED = {"shared_buffers": "4GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}
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

def fresh(admin_url: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + DB
    upgrade(url)
    return url


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
        conn.execute(text(
            "INSERT INTO wallet_entries (wallet_id, account_id, type, amount, granted_amount, balance_after, meter, "
            "quantity, reference, created_at, body_hash, occurred_at) "
            "SELECT (CAST(:w AS text[]))[1 + i % cardinality(CAST(:w AS text[]))], "
            "(CAST(:a AS text[]))[1 + i % cardinality(CAST(:a AS text[]))], 'usage', -30, 0, 10^12 - i * 30, "
            ":meter, 1, "
            "gen_random_uuid()::text, "
            "now() - (:n - i) * interval '1 second', md5(i::text), now() - (:n - i) * interval '1 second' "
            "FROM generate_series(1, :n) AS i"), {"w": wallets[0], "a": wallets[1], "meter": METER, "n": rows})
        for _name, definition in indexes:
            conn.execute(text(definition))
        conn.execute(text("VACUUM ANALYZE wallet_entries"))
        size = conn.execute(text("SELECT pg_relation_size('ux_wallet_entries_usage_event')")).scalar()
    engine.dispose()
    return time.perf_counter() - started, int(size or 0)


def settings_of(url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {name: str(conn.execute(text(f"SHOW {name}")).scalar()) for name in SHOWN}
    engine.dispose()
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def temporary_cluster() -> Iterator[str]:
    """A PostgreSQL 15 cluster of its own with TUNED settings (the shared server is left as it is); its admin URL.
    initdb refuses root, so it runs as the `postgres` OS user."""
    home = Path(tempfile.mkdtemp(prefix="langganan-pg-"))
    shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", _free_port()
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
    url = fresh(admin_url)
    db = open_database(url)
    accounts, _hot = seed(db, args.accounts, 1)
    db.dispose()
    kinds = [k == "ordered" for k in (["random", "ordered"] if args.ids == "both" else [args.ids])]
    found = [measure(url, server, accounts, 0, ordered, args) for ordered in kinds]
    console.print(f"{server}: empty ledger measured; loading {args.rows:,} ledger rows ...")
    load_seconds, index_bytes = load_ledger(url, args.rows)
    console.print(f"{server}: loaded in {load_seconds:.0f} s (usage-id index {index_bytes / 2**20:.0f} MB)")
    found += [measure(url, server, accounts, args.rows, ordered, args) for ordered in kinds]
    about = {"server": server, "settings": settings_of(url), "load_seconds": round(load_seconds, 1),
             "usage_id_index_mb": round(index_bytes / 2**20, 1)}
    if not args.keep:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        admin.dispose()
    return found, about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="ledger rows present in the second run")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each measurement")
    parser.add_argument("--processes", type=int, default=2, help="ingesting processes")
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction (one batch request)")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--ids", choices=("random", "ordered", "both"), default="both")
    parser.add_argument("--server", choices=("shared", "tuned", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help=f"leave the database {DB} on the shared server")
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

    table = Table("server", "ids", "ledger rows", "events/s", "vs empty", "WAL MB/s", "FPI/s",
                  title=f"batch usage ingest, {args.processes} processes, {args.batch} events a batch, "
                        f"{args.seconds:g} s each")
    empty = {(m.server, m.ids): m.rate for m in measures if m.ledger_rows == 0}
    for m in measures:
        base = empty.get((m.server, m.ids))
        table.add_row(m.server, m.ids, f"{m.ledger_rows:,}", f"{m.rate:,.0f}",
                      f"{m.rate / base:.0%}" if base else "", f"{m.wal_mb / m.seconds:.1f}",
                      f"{m.full_page_images / m.seconds:,.0f}")
    console.print(table)
    for about in servers:
        console.print(f"{about['server']}: {about['settings']}; {args.rows:,} rows loaded in "
                      f"{about['load_seconds']} s; usage-id index {about['usage_id_index_mb']} MB")
    out = HERE / "results" / f"ingest_history-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "servers": servers,
                               "measures": [{**asdict(m), "events_per_s": round(m.rate, 1)} for m in measures]},
                              indent=2))
    console.print(f"written {out}")


if __name__ == "__main__":
    main()
