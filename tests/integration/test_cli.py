"""The command line against real databases: migrate, catalog, API keys, the sandbox clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from langganan import cli
from langganan.cli import app
from langganan.kit.db import Database

runner = CliRunner()


@pytest.fixture
def cli_env(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("LANGGANAN_DATABASE_URL", database.url)
    monkeypatch.setenv("LANGGANAN_MODE", "sandbox")
    monkeypatch.setattr(cli.console, "width", 200)
    monkeypatch.setenv("LANGGANAN_CLOCK_START", "2026-01-15T03:00:00+00:00")
    return database


def test_migrate_keys_catalog_and_clock(cli_env: Database, tmp_path: Path) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    out = runner.invoke(app, ["api-keys", "create", "--role", "admin", "--name", "ops"])
    assert out.exit_code == 0 and "lgn_" in out.output
    bad = runner.invoke(app, ["api-keys", "create", "--role", "root"])
    assert bad.exit_code == 2

    assert "already applied" in runner.invoke(app, ["catalog", "apply"]).output
    catalog = (Path(__file__).parents[2] / "src/langganan/catalog.toml").read_text()
    changed = tmp_path / "catalog.toml"
    changed.write_text(catalog.replace("month = 499000", "month = 549000"))
    refused = runner.invoke(app, ["catalog", "apply", str(changed)])
    assert refused.exit_code == 2 and "version" in refused.output
    changed.write_text(catalog.replace("month = 499000", "month = 549000").replace("version = 1", "version = 2"))
    assert "applied" in runner.invoke(app, ["catalog", "apply", str(changed)]).output
    shown = runner.invoke(app, ["catalog", "show"])
    assert "v2" in shown.output and "Rp549.000" in shown.output

    moved = runner.invoke(app, ["clock", "advance", "--days", "31"])
    assert moved.exit_code == 0 and '"now": "2026-02-15T03:00:00+00:00"' in moved.output
    back = runner.invoke(app, ["clock", "advance", "--to", "2026-01-01T00:00:00+00:00"])
    assert back.exit_code == 2
    for args in (["--days", "3661"], ["--days", "3660", "--hours", "1"], ["--hours", "87841"],
                 ["--days", "999999999"], ["--to", "9999-12-31T00:00:00+00:00"], ["--to", "next tuesday"],
                 ["--to", "2027-01-01T00:00:00"], []):
        refused = runner.invoke(app, ["clock", "advance", *args])
        assert refused.exit_code == 2 and "Traceback" not in refused.output, (args, refused.output)
    assert runner.invoke(app, ["clock", "show"]).output.strip() == "2026-02-15T03:00:00+00:00"  # never moved
    assert "10 years" in runner.invoke(app, ["clock", "advance", "--days", "3660", "--hours", "1"]).output


def test_staff_create_stores_a_slow_hash_and_refuses_bad_input(cli_env: Database) -> None:
    from sqlalchemy import select

    from langganan.console.models import StaffUser
    from langganan.console.service import verify_password

    made = runner.invoke(app, ["staff", "create", "--email", "Ops@Example.id", "--name", "Ops"],
                         input="correct horse battery\ncorrect horse battery\n")
    assert made.exit_code == 0, made.output
    assert "ops@example.id" in made.output and "correct horse" not in made.output
    with cli_env.transaction() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.email == "ops@example.id"))
        assert user is not None and verify_password("correct horse battery", user.password_hash)
    again = runner.invoke(app, ["staff", "create", "--email", "ops@example.id", "--password", "another long one"])
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(app, ["staff", "create", "--email", "b@example.id", "--password", "short"])
    assert short.exit_code == 2 and "at least 10 characters" in short.output


@pytest.mark.parametrize("command", [["migrate"], ["worker", "--once"], ["clock", "show"], ["verify"]])
def test_a_bad_setting_is_one_clear_line_and_exit_2(cli_env: Database, monkeypatch: pytest.MonkeyPatch,
                                                    command: list[str]) -> None:
    for name, value in (("CARD_RETRY_DAYS", "1,1"), ("DUE_BATCH", "0"), ("GRACE_DAYS", "three")):
        monkeypatch.setenv(f"LANGGANAN_{name}", value)
        out = runner.invoke(app, command)
        assert out.exit_code == 2, out.output
        assert f"configuration error: LANGGANAN_{name}=" in out.output and "Traceback" not in out.output
        assert out.exception is None or isinstance(out.exception, SystemExit)
        monkeypatch.delenv(f"LANGGANAN_{name}")


def test_clock_advance_refuses_an_instant_it_cannot_read(cli_env: Database) -> None:
    for bad in ("garbage", "2026-02-01T00:00:00", "2026-13-01T00:00:00+07:00"):
        out = runner.invoke(app, ["clock", "advance", "--to", bad])
        assert out.exit_code == 2 and isinstance(out.exception, SystemExit), out.output
        assert f"--to {bad!r} is not an RFC 3339 instant with a UTC offset" in out.output
    far = runner.invoke(app, ["clock", "advance", "--days", "999999999"])
    assert far.exit_code == 2 and "at most 10 years" in far.output, far.output  # the cap of every advance
    shown = runner.invoke(app, ["clock", "show"])
    assert shown.output.strip() == "2026-01-15T03:00:00+00:00"  # nothing moved


def test_api_keys_are_listed_and_revoked_from_the_command_line_and_the_audit_log_exported(
        cli_env: Database, tmp_path: Path) -> None:
    import csv
    import re

    from sqlalchemy import select

    from langganan.apikeys.models import ApiKey
    from langganan.audit.models import AuditEntry

    made = runner.invoke(app, ["api-keys", "create", "--role", "integration", "--name", "crm-production"])
    assert made.exit_code == 0, made.output
    key_id, token = re.search(r"key (key_\w+): (lgn_\S+)", made.output).groups()  # type: ignore[union-attr]
    listed = runner.invoke(app, ["api-keys", "list"])
    assert listed.exit_code == 0 and key_id in listed.output and "crm-production" in listed.output
    assert token not in listed.output and token[:8] in listed.output and "active" in listed.output
    revoked = runner.invoke(app, ["api-keys", "revoke", key_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in runner.invoke(app, ["api-keys", "list"]).output
    unknown = runner.invoke(app, ["api-keys", "revoke", "key_nope"])
    assert unknown.exit_code == 2 and "No api key" in unknown.output
    with cli_env.transaction() as s:
        key = s.get(ApiKey, key_id)
        assert key is not None and key.revoked_at is not None
        logged = [(e.action, e.actor_kind, e.actor_id) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert logged == [("api_key.created", "system", "cli"), ("api_key.revoked", "system", "cli")]
    out = tmp_path / "audit.csv"
    assert runner.invoke(app, ["export", "audit", "--output", str(out)]).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["action"], r["target_id"]) for r in rows] == [("api_key.created", key_id), ("api_key.revoked", key_id)]
