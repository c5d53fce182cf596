"""/docs (Swagger UI) and /redoc (ReDoc) are served by langganan with no other origin: the pages name no
external URL, every asset they reference answers 200 from langganan, and their policy allows nothing else."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Env

ASSET_RE = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize(("path", "marker"), [("/docs", "SwaggerUIBundle"), ("/redoc", "<redoc spec-url")])
def test_the_docs_pages_load_only_what_langganan_serves(env: Env, path: str, marker: str) -> None:
    page = env.client.get(path)
    assert page.status_code == 200 and marker in page.text
    assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text) == []  # no absolute or protocol-relative URL
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy and "http" not in policy
    assets = ASSET_RE.findall(page.text)
    assert len(assets) >= (3 if path == "/docs" else 2)  # script, stylesheet, icon; ReDoc: script, icon
    for url in [*assets, "/openapi.json"]:
        assert url.startswith("/"), url
        got = env.client.get(url)
        assert got.status_code == 200 and len(got.content) > 0, url
    kinds = {url.rsplit(".", 1)[-1]: env.client.get(url).headers["content-type"] for url in assets}
    assert kinds["js"].startswith(("text/javascript", "application/javascript"))
    if path == "/docs":
        assert kinds["css"].startswith("text/css")
    assert "url: '/openapi.json'" in page.text or 'spec-url="/openapi.json"' in page.text


def test_the_docs_routes_are_not_part_of_the_api_document(env: Env) -> None:
    paths = env.ok(env.get("/openapi.json"))["paths"]
    assert "/docs" not in paths and "/redoc" not in paths


def test_the_vendored_bundles_load_nothing_from_a_cdn(env: Env) -> None:
    """The ReDoc bundle's one remote load (its logo) points at langganan's copy (static/vendor/README.md)."""
    for asset in ("/static/vendor/redoc/redoc.standalone.js", "/static/vendor/swagger-ui/swagger-ui-bundle.js"):
        body = env.client.get(asset).text
        assert "cdn.redoc.ly" not in body and "cdn.jsdelivr" not in body and "unpkg.com" not in body, asset
    assert env.client.get("/static/vendor/redoc/logo-mini.svg").status_code == 200
