"""/docs and /redoc render in Chromium with every request to another origin refused: Swagger UI and ReDoc
come from langganan's own static files, and their policy (CSP) is not violated on the way."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live

pytestmark = pytest.mark.browser


def offline(page: Any, live: Live) -> tuple[list[str], list[str]]:
    """Refuse (and note) every request that leaves the server; note the console's policy complaints."""
    own = urlsplit(live.base_url).netloc
    elsewhere: list[str] = []
    refused: list[str] = []

    def route(r: Any) -> None:
        if urlsplit(r.request.url).netloc in (own, "") or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return elsewhere, refused


def test_swagger_ui_works_offline(live: Live, page: Any) -> None:
    elsewhere, refused = offline(page, live)
    page.goto(live.base_url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("langganan")
    plans = page.locator(".opblock-summary-path", has_text="/v1/plans").first
    expect(plans).to_be_visible()
    plans.click()
    expect(page.get_by_text("Try it out").first).to_be_visible()
    assert elsewhere == [] and refused == []


def test_redoc_works_offline(live: Live, page: Any) -> None:
    elsewhere, refused = offline(page, live)
    page.goto(live.base_url + "/redoc")
    # ReDoc lays out the whole document (~230 kB of OpenAPI) before it shows anything: seconds on a busy machine
    expect(page.locator("h1", has_text="langganan")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("/v1/plans").first).to_be_attached()
    expect(page.locator("img[alt='redocly logo']")).to_have_attribute("src", "/static/vendor/redoc/logo-mini.svg")
    assert elsewhere == [] and refused == []
    # the artifact: the first screen (a full-page picture of the whole reference is tens of thousands of pixels)
    page.add_style_tag(content="html, body, redoc, .redoc-wrap { max-height: 100vh !important; "
                               "overflow: hidden !important; }")
