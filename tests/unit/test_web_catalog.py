"""The pages' message catalog and password hashing (no database)."""

from __future__ import annotations

import re
from pathlib import Path

from langganan.console.service import hash_password, verify_password
from langganan.web.i18n import EN, ID, translator

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "langganan" / "templates"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(EN) == set(ID)
    for key in EN:
        assert set(re.findall(r"{(\w+)}", EN[key])) == set(re.findall(r"{(\w+)}", ID[key])), key


def test_every_literal_key_the_templates_use_exists() -> None:
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.]+)["']\s*[,)]""", path.read_text()))
    assert used and used <= set(EN), sorted(used - set(EN))


def test_translator_fills_placeholders_and_falls_back_to_english() -> None:
    t = translator("id")
    assert t("topup.limits", low="Rp10.000", high="Rp5.000.000") == \
        "Minimal isi saldo: Rp10.000. Maksimal isi saldo: Rp5.000.000."
    assert translator("xx")("unsub.yes") == "Yes, Unsubscribe"
    assert t("no.such.key") == "no.such.key" and not t.has("no.such.key")


def test_passwords_are_salted_scrypt_hashes() -> None:
    one, two = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse battery", one) and not verify_password("correct horse batter", one)
    assert not verify_password("x", "md5$whatever") and not verify_password("x", "garbage")
