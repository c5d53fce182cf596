"""A real `langganan serve` process on SQLite, as an operator runs it: a 64 MB body is refused without
the process's peak memory growing, and with LANGGANAN_METRICS_ADDRESS set /metrics lives on that address
only (for `worker` too)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY

CLI = str(Path(sys.executable).with_name("langganan"))
MB = 1024 * 1024
BIG = 64 * MB
GROWTH_ALLOWED = 4 * MB  # VmHWM may grow by "a few MB" at most; reading one 64 MB body would take 64+


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_memory(self) -> int:
        """VmHWM: the most resident memory the process has had, in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([CLI, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGGANAN_")}
    env.update({"LANGGANAN_DATABASE_URL": f"sqlite:///{tmp / 'served.db'}", "LANGGANAN_MODE": "sandbox",
                "LANGGANAN_BOOTSTRAP_API_KEY": ADMIN_KEY,
                "LANGGANAN_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"})
    log = tmp / "serve.log"
    proc = _start(["serve", "--port", str(port), "--no-worker"], env, log)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", proc, log)
        yield Served(proc, port, metrics_port, env, log)
    finally:
        _stop(proc)


def push(port: int, path: str, size: int, *, announce: bool, headers: dict[str, str] | None = None,
         ) -> tuple[int, dict[str, object]]:
    """POST `size` bytes to `path` over a plain socket, with a Content-Length when `announce`, else chunked;
    stops sending as soon as an answer arrives (or the server hangs up) and returns that answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head += f"Content-Length: {size}\r\n\r\n" if announce else "Transfer-Encoding: chunked\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < size and not select.select([sock], [], [], 0)[0]:
                piece = b" " * min(65536, size - sent)
                sock.sendall(piece if announce else b"%x\r\n" % len(piece) + piece + b"\r\n")
                sent += len(piece)
            if sent >= size and not announce:
                sock.sendall(b"0\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            assert got, f"no answer from {path}"
            data += got
        head_text, _, rest = data.partition(b"\r\n\r\n")
        lines = head_text.decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(rest) < int(fields["content-length"]):
            rest += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(rest)


# (path, headers, with Content-Length?, the answer)
REFUSALS = [
    ("/v1/accounts", {}, True, 413),  # the length alone says it is too large
    ("/v1/accounts", {}, False, 401),  # no key: answered before the body
    ("/v1/usage/batch", {"Authorization": "Bearer lgn_unknown"}, False, 401),
    ("/v1/accounts", {"Authorization": f"Bearer {ADMIN_KEY}"}, False, 413),  # counted while read
    ("/v1/gateways/sandbox/notifications", {}, False, 413),  # no API key here: counted while read
    ("/v1/gateways/sandbox/notifications", {}, True, 413),
    ("/console/login", {}, False, 413),
]


def test_a_64_mb_body_is_refused_without_the_server_holding_it(served: Served) -> None:
    for path, headers, announce, _status in REFUSALS:  # every path once, so its code and buffers are warm
        push(served.port, path, 200 * 1024, announce=announce, headers=headers)
    before = served.peak_memory()
    for path, headers, announce, status in REFUSALS:
        got, body = push(served.port, path, BIG, announce=announce, headers=headers)
        assert got == status, (path, announce, body)
        assert body["error"]["code"] in ("request_too_large", "missing_api_key", "invalid_api_key"), body  # type: ignore[index]
    grown = served.peak_memory() - before
    assert grown <= GROWTH_ALLOWED, f"peak memory grew by {grown / MB:.1f} MB"
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_with_a_metrics_address_metrics_are_served_there_and_not_by_the_app(served: Served) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert httpx.get(f"{served.url}/metrics", headers=admin).status_code == 404
    assert "/metrics" not in httpx.get(f"{served.url}/openapi.json").json()["paths"]
    res = httpx.get(f"http://127.0.0.1:{served.metrics_port}/metrics")
    assert res.status_code == 200 and "# TYPE langganan_invoices gauge" in res.text


def test_the_worker_serves_metrics_on_its_address_and_refuses_one_in_use(served: Served, tmp_path: Path) -> None:
    taken = _start(["worker"], served.env, tmp_path / "taken.log")  # the same address as `serve`'s
    assert taken.wait(timeout=60) == 2
    output = (tmp_path / "taken.log").read_text().strip()
    assert len(output.splitlines()) == 1 and "LANGGANAN_METRICS_ADDRESS=127.0.0.1:" in output, output
    port = free_port()
    env = {**served.env, "LANGGANAN_METRICS_ADDRESS": f"127.0.0.1:{port}"}
    worker = _start(["worker"], env, tmp_path / "worker.log")
    try:
        _wait_for(f"http://127.0.0.1:{port}/metrics", worker, tmp_path / "worker.log")
        assert "langganan_invoices" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        _stop(worker)
