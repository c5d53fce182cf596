"""`langganan import-statement FILE --format ...` against real databases: the per-line table, a re-run that
changes nothing, a refused file (exit 2, nothing stored), and the books balancing after it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from langganan.app import create_app, prepare
from langganan.cli import app
from langganan.kit.db import Database
from langganan.payments.models import PaymentReceipt
from langganan.statements.models import BankStatement, BankStatementLine
from tests.conftest import ADMIN_KEY, BILLING, Env, make_settings
from tests.integration.test_cli import cli_env  # noqa: F401  (the CLI's environment)

runner = CliRunner()


def rows_of(output: str) -> dict[str, list[str]]:
    return {cells[0]: cells[1:] for ln in output.splitlines()
            if len(cells := [c.strip() for c in ln.split("│")[1:-1]]) == 7 and cells[0].isdigit()}


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (BankStatement, BankStatementLine, PaymentReceipt))


def test_import_statement_prints_each_line_and_reruns_change_nothing(cli_env: Database,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    settings = make_settings(cli_env)
    prepare(settings, cli_env)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(settings, cli_env)) as client:
        acc = client.post("/v1/accounts", json={"name": "Toko", "email": "toko@example.id"}, headers=headers).json()
        client.put(f"/v1/accounts/{acc['id']}/billing-info", json=BILLING, headers=headers)
        invoice = client.post(f"/v1/accounts/{acc['id']}/top-ups", json={
            "wallet": "broadcast", "amount": 2_775_000, "payment_method": "bank_transfer"}, headers=headers).json()
    source = (Path(__file__).resolve().parents[1] / "fixtures/statements/bca_personal.csv").read_text()
    path = tmp_path / "mutasi.csv"
    path.write_text(source.replace("CV SINAR JAYA ABADI", f"CV SINAR JAYA ABADI {invoice['number']}"))

    first = runner.invoke(app, ["import-statement", str(path), "--format", "bca"])
    assert first.exit_code == 0, first.output
    rows = rows_of(first.output)
    assert {line: cells[2] for line, cells in rows.items()} == {
        "7": "no_match", "9": "no_match", "10": "matched", "12": "no_match"}, first.output
    assert rows["10"][1] == "Rp2.775.000" and rows["10"][3] == invoice["id"] and rows["10"][4] == "applied"
    assert "matched: 1, no_match: 3" in first.output
    assert counts(cli_env) == (1, 4, 4)

    again = runner.invoke(app, ["import-statement", str(path), "--format", "bca"])
    assert again.exit_code == 0
    assert {cells[2] for cells in rows_of(again.output).values()} == {"duplicate"}
    assert counts(cli_env) == (2, 8, 4)

    refused = runner.invoke(app, ["import-statement", str(path), "--format", "mandiri"])
    assert refused.exit_code == 2 and "no header row" in refused.output
    generic = runner.invoke(app, ["import-statement", str(path), "--format", "generic"])
    assert generic.exit_code == 2 and "date_column" in generic.output
    assert counts(cli_env) == (2, 8, 4)
    assert runner.invoke(app, ["verify"]).exit_code == 0


def test_import_tax_numbers_records_coretax_s_list_and_reruns_change_nothing(cli_env: Database,  # noqa: F811
                                                                              tmp_path: Path) -> None:
    settings = make_settings(cli_env, tax_rate_subscription=12, tax_base_subscription="11/12")
    prepare(settings, cli_env)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(settings, cli_env)) as client:
        env = Env(db=cli_env, settings=settings, client=client, headers=headers)
        invoice = env.buy(env.account()["id"], "growth")
    path = tmp_path / "faktur.csv"
    path.write_text(f"Referensi;Nomor Faktur Pajak\n{invoice['number']};04002600000000001\nINV/1999/01/00001;"
                    "04002600000000002\n")

    first = runner.invoke(app, ["import-tax-numbers", str(path)])
    assert first.exit_code == 1, first.output  # one row could not be recorded: said, and the exit code says so
    assert "recorded: 1, replaced: 0, unchanged: 0, problems: 1" in first.output
    assert "line 3" in first.output and "INV/1999/01/00001" in first.output
    again = runner.invoke(app, ["import-tax-numbers", str(path)])
    assert "recorded: 0, replaced: 0, unchanged: 1, problems: 1" in again.output
    path.write_text("no header here\n")
    refused = runner.invoke(app, ["import-tax-numbers", str(path)])
    assert refused.exit_code == 2 and "reference column" in refused.output
