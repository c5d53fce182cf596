"""Real `langganan` processes for the restart-and-recover tests (issue 17): start `serve` and `worker` on a test's
database, wait for them, stop them with a signal; a background load of usage events from threads, each event with
an id of its own, every answer kept; what the ledger holds for those ids; `langganan verify` as a process."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from langganan.kit.db import Database
from langganan.wallets.models import EntryType, WalletEntry
from tests.conftest import ADMIN_KEY, Env

CLI = str(Path(sys.executable).with_name("langganan"))
PATIENCE = 180.0  # seconds a test waits for a process to start, stop or finish its work (a loaded 2-core machine)
CONNECTION_LOST = "connection"  # the answer recorded when no HTTP answer came


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(env: Env, **settings: str) -> dict[str, str]:
    """The environment of a process on the test's database and settings, plus LANGGANAN_<name>=value for each of
    `settings`."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("LANGGANAN_")}
    assert env.settings.sandbox_gateway_secret is not None
    out.update({"LANGGANAN_DATABASE_URL": env.db.url, "LANGGANAN_MODE": "sandbox",
                "LANGGANAN_BOOTSTRAP_API_KEY": ADMIN_KEY,
                "LANGGANAN_SANDBOX_GATEWAY_SECRET": env.settings.sandbox_gateway_secret})
    out.update({f"LANGGANAN_{name.upper()}": value for name, value in settings.items()})
    return out


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = PATIENCE) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the process did not end within {timeout} s: {self.output()[-3000:]}") from None

    def kill(self) -> None:
        """Whatever is left of it (after a test failed): the process group, at once."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)


def start(args: list[str], env: dict[str, str], log: Path) -> Process:
    with log.open("ab") as out:
        proc = subprocess.Popen([CLI, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Process(proc, log)


@dataclass
class Server(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serve(env: dict[str, str], log: Path, *, worker: bool = False) -> Server:
    """`langganan serve` on a free port, answering /healthz."""
    port = free_port()
    process = start(["serve", "--port", str(port), "--worker" if worker else "--no-worker"], env, log)
    server = Server(process.proc, log, port)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        assert server.alive(), server.output()[-3000:]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return server
        time.sleep(0.2)
    server.kill()
    raise AssertionError(f"serve never answered: {server.output()[-3000:]}")


def wait_until(what: str, done: Callable[[], bool], timeout: float = PATIENCE, every: float = 0.1,
               detail: Callable[[], object] = lambda: "") -> None:
    """Poll `done()` until it is true; fails naming `what` (and `detail()`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what} {detail()}"
        time.sleep(every)


def verify(env: dict[str, str], log: Path) -> tuple[int, str]:
    """`langganan verify` as its own process: (exit code, output)."""
    done = subprocess.run([CLI, "verify"], env=env, capture_output=True, text=True, timeout=PATIENCE)
    log.write_text(done.stdout + done.stderr)
    return done.returncode, done.stdout + done.stderr


# -- a load of usage events ---------------------------------------------------------------------------

@dataclass
class Load:
    """Threads posting usage events (`conversation_reply`, each with an id of its own) to a server, round robin
    over `accounts`; half of them with an Idempotency-Key, so that they take the application's whole stack rather
    than the fast lane. Every answer is kept by event id: the status code, or CONNECTION_LOST."""

    url: str
    accounts: list[str]
    prefix: str
    answers: dict[str, list[int | str]] = field(default_factory=dict)
    retry_after: list[str | None] = field(default_factory=list)  # the Retry-After of every 503
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def start(self, threads: int = 4) -> None:
        for n in range(threads):
            thread = threading.Thread(target=self._run, name=f"load-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=PATIENCE)
            assert not thread.is_alive(), "a load thread did not end"

    def _run(self) -> None:
        """Post until stopped; a thread whose connection was lost stops there (the server is going away)."""
        with httpx.Client(timeout=PATIENCE) as client:
            while not self.stop.is_set():
                number = next(self._ids)
                if self.post(client, f"{self.prefix}-{number}", self.accounts[number % len(self.accounts)],
                             idempotent=bool(number % 2)) == CONNECTION_LOST:
                    return

    def running(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def post(self, client: httpx.Client, event_id: str, account_id: str, *, idempotent: bool,
             url: str | None = None) -> int | str:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        if idempotent:
            headers["Idempotency-Key"] = f"key-{event_id}"
        try:
            response = client.post(f"{url or self.url}/v1/usage", headers=headers,
                                   json={"id": event_id, "account_id": account_id, "meter": "conversation_reply"})
            answer: int | str = response.status_code
        except httpx.TransportError:
            answer = CONNECTION_LOST
        with self._lock:
            self.answers.setdefault(event_id, []).append(answer)
            if answer == 503:
                self.retry_after.append(response.headers.get("retry-after"))
        return answer

    def accepted(self) -> int:
        with self._lock:
            return sum(1 for seen in self.answers.values() if any(a in (200, 201) for a in seen))

    def statuses(self) -> Counter[int | str]:
        with self._lock:
            return Counter(a for seen in self.answers.values() for a in seen)

    def account_of(self, event_id: str) -> str:
        return self.accounts[int(event_id.rsplit("-", 1)[1]) % len(self.accounts)]

    def settle(self, url: str) -> None:
        """Send each event that has no 2xx answer yet again (same id, same body), until it has one: what a client
        does with a 503 or a lost connection. A repeat of an event that was in fact stored answers 200."""
        with httpx.Client(timeout=PATIENCE) as client:
            for event_id in sorted(self.answers):
                deadline = time.monotonic() + PATIENCE
                while not any(a in (200, 201) for a in self.answers[event_id]):
                    assert time.monotonic() < deadline, f"{event_id} never answered 2xx: {self.answers[event_id]}"
                    self.post(client, event_id, self.account_of(event_id), idempotent=False, url=url)


def usage_entries(db: Database, prefix: str) -> Counter[str]:
    """How many usage ledger entries each event id of the load (`prefix`) has."""
    with db.transaction() as s:
        rows = s.execute(select(WalletEntry.reference, func.count()).where(
            WalletEntry.type == EntryType.USAGE, WalletEntry.reference.like(f"{prefix}-%"))
            .group_by(WalletEntry.reference)).all()
    return Counter({reference: count for reference, count in rows})
