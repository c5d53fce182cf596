"""The console's revenue and export pages over HTTP: the same figures and files as the API, behind the staff
sign-in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from tests.api.test_portal_security import _console_login
from tests.conftest import Env


def _staff(env: Env) -> TestClient:
    with env.db.transaction() as s:
        staff.create_staff(s, "finance@example.id", "Fin", "correct horse battery", wall_now())
    client = TestClient(env.client.app)
    assert _console_login(env, client, "finance@example.id", "correct horse battery").status_code == 303
    return client


def test_revenue_page_shows_the_reports_figures_and_a_chart_per_series(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "growth")
    client = _staff(env)
    page = client.get("/console/revenue?since=2026-01&until=2026-01")
    assert page.status_code == 200
    api = env.ok(env.get("/v1/reports/revenue?since=2026-01&until=2026-01"))["data"][0]
    assert api["mrr"] == 499_000
    assert "Rp499,000" in page.text and page.text.count("<svg") >= 9  # MRR in the table; one chart per series
    default = client.get("/console/revenue")  # the last 12 months up to the engine clock's month
    assert default.status_code == 200 and 'value="2026-01"' in default.text and 'value="2025-02"' in default.text
    bad = client.get("/console/revenue?since=2026-13&until=2026-01")
    assert bad.status_code == 422 and "YYYY-MM" in bad.text
    indonesian = client.get("/console/revenue?since=2026-01&until=2026-01&lang=id")
    assert "Pendapatan per bulan" in indonesian.text
    assert TestClient(env.client.app).get("/console/revenue", follow_redirects=False).status_code in (303, 401)


def test_exports_download_the_same_file_as_the_api(env: Env) -> None:
    acc = env.account()
    env.buy(acc["id"], "pro")
    client = _staff(env)
    assert client.get("/console/exports").status_code == 200
    console_file = client.get("/console/exports/invoices.csv?since=2026-01-01&until=2026-01-31")
    api_file = env.client.get("/v1/exports/invoices.csv?since=2026-01-01&until=2026-01-31", headers=env.headers)
    assert console_file.status_code == 200 and console_file.content == api_file.content
    assert console_file.content.count(b"\r\n") == 2  # the header and the one invoice
    assert client.get("/console/exports/customers.csv").status_code == 404
    assert TestClient(env.client.app).get("/console/exports/invoices.csv", follow_redirects=False).status_code \
        in (303, 401)
