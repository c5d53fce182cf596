"""Browser tests: Playwright for Python driving Debian's Chromium (never a downloaded browser).

The server is a real uvicorn on a free loopback port in a thread, on SQLite. One browser per test
session, a fresh context and page per test, phone-width by default. Without /usr/bin/chromium the
tests are skipped (the report header says why); LANGGANAN_REQUIRE_BROWSER=1 turns that into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from langganan.app import create_app, prepare
from tests.conftest import ADMIN_KEY, Env, make_settings
from tests.served_support import serving, sqlite_copy

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("LANGGANAN_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PHONE = {"width": 390, "height": 844}


def browser_problem() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def _require_browser() -> None:
    problem = browser_problem()
    if problem is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"LANGGANAN_REQUIRE_BROWSER=1 but {problem}")
    pytest.skip(f"browser tests skipped: {problem}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        yield chromium
        chromium.close()


class Live(Env):
    """The Env API helpers, plus the address of the real server the browser talks to."""

    base_url: str = ""

    def portal_url(self, account_id: str) -> str:
        url = str(self.ok(self.post(f"/v1/accounts/{account_id}/portal-sessions"), 201)["url"])
        return self.base_url + url[url.index("/portal/"):]


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[Live]:
    _require_browser()
    db = sqlite_copy(tmp_path, sqlite_template, "browser.db")
    settings = make_settings(db)
    prepare(settings, db, migrate_if_empty=False)
    app = create_app(settings, db)
    with serving(app) as url, TestClient(app) as client:
        env = Live(db=db, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        env.base_url = url
        yield env
    db.dispose()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="en-GB", accept_downloads=True)
    # Generous on purpose: on CI's 2 cores a page shares them with the other test worker, PostgreSQL and
    # Chromium itself, and one page load once stalled past 10 s (a wait still fails, later, when the page
    # never shows what it should).
    context.set_default_timeout(20_000)
    context.set_default_navigation_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
