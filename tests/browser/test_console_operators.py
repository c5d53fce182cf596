"""The console's operator pages in Chromium: an owner makes an API key (shown once), rotates one with an overlap
and revokes one through its confirmation dialog (refused by the API at once); in Bahasa Indonesia, an owner adds a
staff user and reads the audit log of what was done."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from langganan.console import service as staff
from langganan.kit.clock import wall_now
from tests.browser.conftest import Live

pytestmark = pytest.mark.browser


def sign_in(live: Live, page: Any, query: str = "") -> None:
    with live.db.transaction() as s:
        staff.create_staff(s, "owner@langganan.example", "Owner", "correct horse battery", wall_now())
    page.goto(live.base_url + "/console/login" + query)
    page.locator("#email, input[name=email]").first.fill("owner@langganan.example")
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("form button[type=submit]").first.click()
    expect(page.locator("h1")).to_be_visible()


def test_an_owner_makes_rotates_and_revokes_api_keys(live: Live, page: Any) -> None:
    sign_in(live, page)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("crm-production")
    page.get_by_label("Role").select_option("integration")
    page.get_by_role("button", name="Create key").click()
    token = page.get_by_test_id("api-key-token").inner_text()
    assert token.startswith("lgn_")
    api = httpx.Client(base_url=live.base_url, headers={"Authorization": f"Bearer {token}"})
    assert api.get("/v1/accounts").status_code == 200
    page.get_by_role("link", name="API keys").click()
    assert token not in page.content()
    page.get_by_role("button", name="Rotate crm-production").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("The old key works for").select_option(label="1 hour")
    dialog.get_by_role("button", name="Rotate").click()
    expect(page.get_by_role("status")).to_contain_text("the old key keeps working until")
    new = page.get_by_test_id("api-key-token").inner_text()
    assert new != token and api.get("/v1/accounts").status_code == 200  # the overlap
    page.get_by_role("link", name="API keys").click()
    row = page.locator("tr", has_text=token[:8])
    expect(row).to_contain_text("expires at")
    row.get_by_role("button", name="Revoke crm-production").click()
    page.locator("dialog[open]").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Key revoked")
    assert api.get("/v1/accounts").status_code == 401
    fresh = httpx.get(live.base_url + "/v1/accounts", headers={"Authorization": f"Bearer {new}"})
    assert fresh.status_code == 200
    api.close()


def test_an_owner_adds_staff_and_reads_the_audit_log_in_indonesian(live: Live, page: Any) -> None:
    sign_in(live, page, "?lang=id")
    page.get_by_role("link", name="Staf").click()
    page.get_by_label("Email").fill("rina@langganan.example")
    page.get_by_label("Nama").fill("Rina")
    page.get_by_label("Peran", exact=True).select_option("finance")
    page.get_by_role("button", name="Tambah", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("rina@langganan.example ditambahkan sebagai keuangan")
    password = page.get_by_test_id("staff-password").inner_text()
    assert len(password) >= 10
    page.get_by_role("link", name="Log audit").click()
    expect(page.get_by_role("heading", name="Log audit")).to_be_visible()
    page.get_by_label("Tindakan").fill("staff.")
    page.get_by_role("button", name="Saring").click()
    row = page.locator("tr[data-entry]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("staff.created")
    expect(row).to_contain_text("owner@langganan.example")
    assert re.search(r"role</strong>: — → finance", row.inner_html())
