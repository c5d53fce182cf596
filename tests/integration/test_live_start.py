"""`langganan serve` refuses to start in live mode without a real gateway and its keys, and anywhere with a
secret everyone knows: one line naming the variable, exit 2 (a real process, as an operator starts it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langganan.cli import app

CLI = str(Path(sys.executable).with_name("langganan"))
KEYS = {"MIDTRANS_SERVER_KEY": "SB-Mid-server-abc", "MIDTRANS_CLIENT_KEY": "SB-Mid-client-abc",
        "XENDIT_SECRET_KEY": "xnd_development_abc", "XENDIT_CALLBACK_TOKEN": "cbtoken"}


def _keys(*names: str) -> dict[str, str]:
    return {name: KEYS[name] for name in names}


# (environment beyond LANGGANAN_DATABASE_URL, the variable the one line must name, what it must say); every
# other refusal is the same ConfigError path, read in tests/unit/test_config.py
REFUSED = [
    ({"MODE": "live"}, "LANGGANAN_GATEWAY", "live mode"),
    ({"MODE": "live", "GATEWAY": "midtrans", **_keys("MIDTRANS_SERVER_KEY")}, "LANGGANAN_MIDTRANS_CLIENT_KEY",
     "needs"),
    ({"MODE": "live", "GATEWAY": "xendit", **_keys("XENDIT_SECRET_KEY")}, "LANGGANAN_XENDIT_CALLBACK_TOKEN",
     "needs"),
    ({"MODE": "sandbox", "SANDBOX_GATEWAY_SECRET": "sandbox-secret-change-me"}, "LANGGANAN_SANDBOX_GATEWAY_SECRET",
     "published"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGGANAN_")}
    env.update({"LANGGANAN_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}", "COLUMNS": "80"})
    env.update({f"LANGGANAN_{name}": value for name, value in settings.items()})
    return env


@pytest.mark.parametrize(("settings", "names", "says"), REFUSED)
def test_serve_refuses_to_start_with_one_line_naming_the_variable(tmp_path: Path, settings: dict[str, str],
                                                                  names: str, says: str) -> None:
    try:
        done = subprocess.run([CLI, "serve", "--port", str(_free_port())], env=child_env(tmp_path, settings),
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`langganan serve` started with {settings}")
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert len(output.splitlines()) == 1, output
    assert output.startswith("configuration error: ") and names in output and says in output, output
    assert not (tmp_path / "live.db").exists()  # nothing was migrated or written


def test_worker_and_every_command_refuse_live_mode_without_a_gateway(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in child_env(tmp_path, {"MODE": "live"}).items():
        monkeypatch.setenv(name, value)
    for command in (["worker", "--once"], ["worker"], ["verify"], ["migrate"], ["clock", "show"]):
        out = CliRunner().invoke(app, command)
        assert out.exit_code == 2, (command, out.output)
        assert "configuration error: LANGGANAN_GATEWAY" in out.output, out.output
    monkeypatch.setenv("LANGGANAN_GATEWAY", "midtrans")
    monkeypatch.setenv("LANGGANAN_MIDTRANS_SERVER_KEY", KEYS["MIDTRANS_SERVER_KEY"])
    monkeypatch.setenv("LANGGANAN_MIDTRANS_CLIENT_KEY", KEYS["MIDTRANS_CLIENT_KEY"])
    monkeypatch.setenv("LANGGANAN_BOOTSTRAP_API_KEY", "lgn_" + "k" * 40)
    out = CliRunner().invoke(app, ["migrate"])
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(app, ["worker", "--once"])  # with its keys, the Midtrans gateway runs the due work
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize("gateway", ["midtrans", "xendit"])
def test_live_mode_starts_with_a_real_gateway_and_its_keys(tmp_path: Path, gateway: str) -> None:
    keys = {"midtrans": _keys("MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY"),
            "xendit": _keys("XENDIT_SECRET_KEY", "XENDIT_CALLBACK_TOKEN")}[gateway]
    port = _free_port()
    env = child_env(tmp_path, {"MODE": "live", "GATEWAY": gateway, "BOOTSTRAP_API_KEY": "lgn_" + "k" * 40,
                               **keys})
    subprocess.run([CLI, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        import httpx

        for _ in range(300):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    pytest.fail(f"serve exited: {server.stdout.read() if server.stdout else ''}")
                import time

                time.sleep(0.1)
        else:
            pytest.fail("serve did not answer in 30 s")
        assert answer.status_code == 200
        # its notification route is the gateway's own; the sandbox's does not exist in live mode
        own = httpx.post(f"http://127.0.0.1:{port}/v1/gateways/{gateway}/notifications", content=b"{}", timeout=5)
        assert own.status_code in (401, 422), own.text  # verified by the gateway's scheme, refused unsigned
        assert httpx.post(f"http://127.0.0.1:{port}/v1/gateways/sandbox/notifications", content=b"{}",
                          timeout=5).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=30)
