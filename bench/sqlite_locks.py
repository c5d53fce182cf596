"""Usage requests during a long due run on one SQLite file: what they are answered, how long they wait,
and how long the due run holds SQLite's write lock.

It prints numbers; it never fails on them. N due subscriptions are cloned from two template
accounts (bench/renewals.py: half renew by card, half by bank transfer). Then two processes share the
SQLite file: `langganan serve --no-worker` and a clock advance of `--days` (`langganan clock advance`'s
code, in a process of this script that times every write transaction it opens). While the advance
runs, `--clients` connections send `POST /v1/usage` one after another. Reported: the advance's time,
its write transactions (count, longest, the slowest by what opened them), and the usage answers by
status with their latencies.

    .venv/bin/python bench/sqlite_locks.py                              # 2.000 subscriptions, 365 days
    .venv/bin/python bench/sqlite_locks.py --subscriptions 5000 --days 90
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import renewals

from langganan.app import create_app, make_context, open_database, prepare
from langganan.kit.clock import DatabaseClock
from langganan.models import metadata

KEY = renewals.KEY


def seed(url: str, n: int) -> str:
    """N due subscriptions (the clock one minute past their period end) and one funded usage account."""
    settings = renewals.settings_for(url)
    db = open_database(url, settings)
    prepare(settings, db)
    card, bank = renewals.templates(settings, db)
    renewals.clone(db, card, n // 2 - 1, "card")
    renewals.clone(db, bank, n - n // 2 - 1, "bank")
    client = TestClient(create_app(settings, db))
    h = {"Authorization": f"Bearer {KEY}"}
    acc = client.post("/v1/accounts", json={"name": "Usage", "email": "usage@bench.example"}, headers=h).json()
    client.put(f"/v1/accounts/{acc['id']}/billing-info", json=renewals.BILLING, headers=h)
    inv = client.post(f"/v1/accounts/{acc['id']}/top-ups", json={"wallet": "conversation", "amount": 1_000_000,
                                                                 "payment_method": "bank_transfer"}, headers=h).json()
    client.post("/v1/sandbox/bank-transfers", json={"va_number": inv["payment"]["va_number"], "amount": inv["total"]},
                headers=h)
    with db.transaction() as s:
        end = s.scalar(select(func.max(metadata.tables["subscriptions"].c.current_period_end)))
        DatabaseClock().advance_to(s, end - timedelta(minutes=1))
    db.dispose()
    return str(acc["id"])


def advance_process(url: str, days: int) -> None:
    """The clock advance, with every write transaction timed (begin to commit or rollback)."""
    from langganan.sandbox.clock import advance

    settings = renewals.settings_for(url)
    db = open_database(url, settings)
    prepare(settings, db, migrate_if_empty=False)
    ctx = make_context(settings, db)
    spans: list[tuple[float, str]] = []
    opened: dict[int, tuple[float, str]] = {}

    def what() -> str:
        names = [f.name for f in traceback.extract_stack()[:-3] if "/langganan/" in f.filename
                 and "/kit/db.py" not in f.filename]
        return " > ".join(names[-4:])

    def watch(engine: Any) -> None:
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            opened[id(conn)] = (time.perf_counter(), what())

        def _end(conn: Any) -> None:
            start = opened.pop(id(conn), None)
            if start is not None:
                spans.append((time.perf_counter() - start[0], start[1]))

        event.listen(engine, "commit", _end)
        event.listen(engine, "rollback", _end)

    watch(db.engine)
    if hasattr(db, "background"):  # (the due work's own connections, since issue 11)
        watch(db.background.engine)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    done = advance(ctx, days=days)
    seconds = time.perf_counter() - started
    slowest: dict[str, float] = {}
    for took, label in spans:
        slowest[label] = max(slowest.get(label, 0.0), took)
    print(json.dumps({"seconds": seconds, "periods_rolled": done.periods_rolled, "transactions": len(spans),
                      "longest": max(t for t, _ in spans), "over_1s": sum(t > 1 for t, _ in spans),
                      "held": sum(t for t, _ in spans),
                      "slowest": sorted(slowest.items(), key=lambda kv: -kv[1])[:8]}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def send_usage(base: str, account: str, clients: int, stop: asyncio.Event) -> list[tuple[int, float, str]]:
    out: list[tuple[int, float, str]] = []
    counter = iter(range(10**9))

    async def one(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            body = {"id": f"evt-{next(counter)}", "account_id": account, "meter": "conversation_reply"}
            t0 = time.perf_counter()
            try:
                r = await client.post(f"{base}/v1/usage", json=body, headers={"Authorization": f"Bearer {KEY}"})
            except httpx.TransportError as exc:
                out.append((0, time.perf_counter() - t0, type(exc).__name__))
                continue
            code = r.json().get("error", {}).get("code", "") if r.status_code >= 400 else ""
            out.append((r.status_code, time.perf_counter() - t0, f"{code} retry-after={r.headers.get('retry-after')}"
                        if r.status_code >= 500 else code))

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(one(client) for _ in range(clients)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--advance", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.advance:
        advance_process(args.advance[0], int(args.advance[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'locks.db'}"
        t0 = time.perf_counter()
        account = seed(url, args.subscriptions)
        print(f"seeded {args.subscriptions:,} due subscriptions in {time.perf_counter() - t0:.1f} s", flush=True)
        port = free_port()
        env = {**os.environ, "LANGGANAN_DATABASE_URL": url, "LANGGANAN_BOOTSTRAP_API_KEY": KEY}
        cli = str(Path(sys.executable).with_name("langganan"))
        with open(Path(tmp) / "serve.log", "w") as serve_log:
            server = subprocess.Popen([cli, "serve", "--no-worker", "--port", str(port)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=serve_log, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            adv = subprocess.Popen([sys.executable, __file__, "--advance", url, str(args.days)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert adv.stdout is not None and adv.stdin is not None
            assert adv.stdout.readline().strip() == "ready"

            async def run() -> tuple[list[tuple[int, float, str]], str]:
                stop = asyncio.Event()
                task = asyncio.create_task(send_usage(base, account, args.clients, stop))
                assert adv.stdin is not None
                adv.stdin.write("go\n")
                adv.stdin.flush()
                out, _ = await asyncio.to_thread(adv.communicate)
                stop.set()
                return await task, out

            answers, out = asyncio.run(run())
            report = json.loads(out.strip().splitlines()[-1])
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        print(f"advance of {args.days} days: {report['seconds']:.1f} s, {report['periods_rolled']:,} periods rolled, "
              f"{report['transactions']:,} write transactions, longest {report['longest']:.2f} s, "
              f"{report['over_1s']} over 1 s; the write lock held {report['held']:.1f} s in all")
        for label, took in report["slowest"]:
            print(f"  {took:7.2f} s  {label}")
        by_status = Counter((s, c) for s, _, c in answers)
        waits = sorted(t for _, t, _ in answers)
        print(f"usage requests meanwhile: {len(answers):,}; " + ", ".join(
            f"{s} {c or ''}: {n}" for (s, c), n in sorted(by_status.items())))
        if waits:
            print(f"  latency: median {waits[len(waits) // 2]:.3f} s, p99 {waits[int(len(waits) * 0.99)]:.3f} s, "
                  f"max {waits[-1]:.2f} s")
        log = (Path(tmp) / "serve.log").read_text().splitlines()
        print(f"  'locked' lines in the server's log: {sum('locked' in line for line in log)}")
        if os.environ.get("BENCH_SERVER_LOG"):
            Path(os.environ["BENCH_SERVER_LOG"]).write_text("\n".join(log))


if __name__ == "__main__":
    main()
