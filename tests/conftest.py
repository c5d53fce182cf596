"""Test fixtures: every integration/API test runs on SQLite and on PostgreSQL.

PostgreSQL tests run whenever a server is reachable (LANGGANAN_TEST_PG_URL, default the local
trust-auth server); each test worker gets its own database, built by the Alembic migrations.
LANGGANAN_REQUIRE_POSTGRES=1 turns "server unreachable" into a failure instead of a skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from langganan.app import create_app, open_database, prepare
from langganan.catalog import service as catalog_service
from langganan.config import Settings
from langganan.kit.db import Database
from langganan.kit.migrate import upgrade
from langganan.models import metadata

PG_ADMIN_URL = os.environ.get("LANGGANAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("LANGGANAN_REQUIRE_POSTGRES") == "1"
ADMIN_KEY = "lgn_test_admin_key"
CLOCK_START = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


_PG_PROBLEM: str | None = _pg_reachable()


def pytest_report_header() -> list[str]:
    from tests.browser.conftest import browser_problem

    lines = [f"PostgreSQL tests: ON ({PG_ADMIN_URL})" if _PG_PROBLEM is None
             else f"PostgreSQL tests: SKIPPED — server unreachable ({_PG_PROBLEM})"]
    problem = browser_problem()
    lines.append("Browser tests: ON (Chromium at /usr/bin/chromium)" if problem is None
                 else f"Browser tests: SKIPPED — {problem}")
    return lines


def _worker_id(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from own_pg_database(request, "test")


def own_pg_database(request: pytest.FixtureRequest, purpose: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this checkout and worker for `purpose` (two checkouts on one
    server never collide), dropped afterwards; yields its URL."""
    if _PG_PROBLEM is not None:
        if REQUIRE_PG:
            pytest.fail(f"LANGGANAN_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL unreachable: {_PG_PROBLEM}")
    checkout = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:6]
    with empty_pg_database(f"langganan_{purpose}_{checkout}_{_worker_id(request)}") as url:
        upgrade(url)
        yield url


@contextmanager
def empty_pg_database(name: str) -> Iterator[str]:
    """An empty PostgreSQL database `name` on the test server (made afresh), dropped afterwards; yields its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_pg(db: Database) -> None:
    """Every table emptied and every sequence back at 1, as a fresh migrated database. DELETE, children first,
    rather than TRUNCATE: a test leaves a few rows, and TRUNCATE gives each of the tables new files (~175 ms
    a test, DELETE ~3 ms)."""
    deletes = ";".join(f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text(deletes))
        conn.execute(text("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                          "FROM pg_sequences WHERE schemaname = current_schema()"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database on each backend."""
    catalog_service.forget_cache()
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = open_database(f"sqlite:///{path}")
    else:
        db = open_database(request.getfixturevalue("pg_database"))
        _truncate_pg(db)
    yield db
    db.dispose()


def make_settings(db: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(database_url=db.url, mode="sandbox", bootstrap_api_key=ADMIN_KEY,
                                  clock_start=CLOCK_START, sandbox_gateway_secret="test-secret")
    values.update(overrides)
    return Settings(**values)


@dataclass
class Env:
    """A running app on one backend, and helpers a test uses to drive it over HTTP."""

    db: Database
    settings: Settings
    client: TestClient
    headers: dict[str, str]

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=kw.pop("headers", self.headers), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=json, headers=kw.pop("headers", self.headers), **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(path, json=json, headers=kw.pop("headers", self.headers), **kw)

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def account(self, *, billing: bool = True, **fields: Any) -> dict[str, Any]:
        body = {"name": "Toko Maju", "email": f"owner{len(fields)}{os.urandom(3).hex()}@example.id", **fields}
        acc = self.ok(self.post("/v1/accounts", body), 201)
        if billing:
            self.ok(self.put(f"/v1/accounts/{acc['id']}/billing-info", BILLING))
        return acc

    def subscription(self, account_id: str) -> dict[str, Any]:
        return self.ok(self.get(f"/v1/accounts/{account_id}/subscription"))

    def card(self, account_id: str, number: str = "4242424242424242") -> str:
        token = self.ok(self.post("/v1/sandbox/cards", {"number": number, "exp_month": 12, "exp_year": 2030,
                                                        "cvc": "123"}), 201)["provider_token"]
        return str(self.ok(self.post(f"/v1/accounts/{account_id}/payment-methods",
                                     {"provider_token": token}), 201)["id"])

    def pay_va(self, invoice: dict[str, Any], amount: int | None = None) -> dict[str, Any]:
        va = invoice["payment"]["va_number"]
        return dict(self.ok(self.post("/v1/sandbox/bank-transfers",
                                      {"va_number": va, "amount": invoice["total"] if amount is None else amount})))

    def buy(self, account_id: str, plan: str, interval: str = "month") -> dict[str, Any]:
        """Purchase or upgrade by bank transfer and pay it; returns the paid invoice."""
        res = self.ok(self.post(f"/v1/accounts/{account_id}/subscription/change",
                                {"plan": plan, "interval": interval, "payment_method": "bank_transfer"}))
        self.pay_va(res["invoice"])
        return dict(self.ok(self.get(f"/v1/invoices/{res['invoice']['id']}")))

    def advance(self, **body: Any) -> dict[str, Any]:
        return dict(self.ok(self.post("/v1/sandbox/clock/advance", body)))

    def now(self) -> datetime:
        return datetime.fromisoformat(self.ok(self.get("/v1/sandbox/clock"))["now"])

    def wallet(self, account_id: str, kind: str = "conversation") -> dict[str, Any]:
        wallets = self.ok(self.get(f"/v1/accounts/{account_id}/wallets"))["data"]
        return dict(next(w for w in wallets if w["kind"] == kind))

    def top_up(self, account_id: str, wallet: str, amount: int) -> dict[str, Any]:
        invoice = self.ok(self.post(f"/v1/accounts/{account_id}/top-ups",
                                    {"wallet": wallet, "amount": amount, "payment_method": "bank_transfer"}), 201)
        self.pay_va(invoice)
        return dict(invoice)

    def assert_books(self) -> None:
        from langganan.verify import violations

        with self.db.transaction() as s:
            assert [str(v) for v in violations(s, self.settings)] == []

    def event_types(self, account_id: str) -> list[str]:
        out: list[str] = []
        after = None
        while True:
            q = f"/v1/events?account_id={account_id}&limit=100" + (f"&starting_after={after}" if after else "")
            page = self.ok(self.get(q))
            out.extend(e["type"] for e in page["data"])
            if not page["has_more"]:
                return list(reversed(out))
            after = page["data"][-1]["id"]


BILLING = {"company_name": "PT Toko Maju Jaya", "contact_name": "Siti Rahayu", "email": "finance@tokomaju.id",
           "phone": "+62 21 555 0101", "address": "Jl. Gatot Subroto No. 10", "city": "Jakarta",
           "postal_code": "12930", "country": "ID", "tax_id": "01.234.567.8-012.000"}


@contextmanager
def started_env(database: Database, settings: Settings, app: Any = None) -> Iterator[Env]:
    """`database` prepared for `settings` and `app` (by default the app of those settings) started in a
    TestClient, driven with the admin key."""
    prepare(settings, database, migrate_if_empty=False)
    with TestClient(app or create_app(settings, database)) as client:
        yield Env(db=database, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


@pytest.fixture
def env(database: Database) -> Iterator[Env]:
    with started_env(database, make_settings(database)) as started:
        yield started
