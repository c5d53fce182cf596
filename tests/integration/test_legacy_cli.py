"""`langganan import-legacy FILE.csv [--dry-run]` against real databases: progress, the summary table with
the failed lines, the exit code, and a re-run that changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from langganan.accounts.models import Account
from langganan.cli import app
from langganan.invoices.models import Invoice
from langganan.kit.db import Database
from langganan.legacy.models import LegacyImport
from tests.integration.test_cli import cli_env  # noqa: F401  (the CLI's environment)

runner = CliRunner()
CSV = ("account_key,name,email,plan,interval,enrolled_on,last_unpaid_month\n"
       "L-1,Toko Satu,satu@example.id,growth,month,2024-03-10,2025-12\n"
       "L-2,Toko Dua,dua@example.id,platinum,month,2024-03-10,2025-12\n"
       "L-3,Toko Tiga,tiga@example.id,pro,year,2023-03-10,2025-12\n"
       "L-4,Toko Empat,empat@example.id,growth,month,2027-01-01,2025-12\n")


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(Account)) or 0,
                s.scalar(select(func.count()).select_from(Invoice)) or 0,
                s.scalar(select(func.count()).select_from(LegacyImport)) or 0)


def test_import_legacy_reports_lines_and_reruns_change_nothing(cli_env: Database, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "legacy.csv"
    path.write_text(CSV)

    dry = runner.invoke(app, ["import-legacy", str(path), "--dry-run"])
    assert dry.exit_code == 1, dry.output
    assert "dry run: nothing was kept" in dry.output and "would import" in dry.output
    assert counts(cli_env) == (0, 0, 0)

    first = runner.invoke(app, ["import-legacy", str(path)])
    assert first.exit_code == 1, first.output
    rows = {cells[0]: cells[1:] for ln in first.output.splitlines()
            if len(cells := [c.strip() for c in ln.split("│")[1:-1]]) == 3}
    assert rows["imported"] == ["2", ""] and rows["failed"] == ["2", "3, 5"], first.output
    assert "unknown_plan" in first.output and "enrolled_in_future" in first.output
    assert counts(cli_env) == (2, 2, 2)

    again = runner.invoke(app, ["import-legacy", str(path)])
    assert again.exit_code == 1
    rows = {cells[0]: cells[1:] for ln in again.output.splitlines()
            if len(cells := [c.strip() for c in ln.split("│")[1:-1]]) == 3}
    assert rows["unchanged"] == ["2", ""] and rows["imported"] == ["0", ""], again.output
    assert counts(cli_env) == (2, 2, 2)

    good = tmp_path / "good.csv"
    good.write_text("\n".join(CSV.splitlines()[:2]) + "\n")
    assert runner.invoke(app, ["import-legacy", str(good)]).exit_code == 0
    assert runner.invoke(app, ["verify"]).exit_code == 0

    bad = tmp_path / "bad.csv"
    bad.write_text("account_key,name\nL-9,x\n")
    refused = runner.invoke(app, ["import-legacy", str(bad)])
    assert refused.exit_code == 2 and "'email'" in refused.output
    assert runner.invoke(app, ["import-legacy", str(tmp_path / "missing.csv")]).exit_code == 2
