"""The pages' message catalog and password hashing (no database); tests/unit/test_i18n_catalogs.py checks the
catalog files themselves."""

from __future__ import annotations

import re
from pathlib import Path

from langganan.console.service import hash_password, verify_password
from langganan.kit.translations import load_messages
from langganan.web.i18n import translator

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "langganan" / "templates"


def test_every_literal_key_the_templates_use_exists_in_both_languages() -> None:
    """A plain reading of the templates, beside Babel's extraction (test_i18n_catalogs.py): if the extractor
    missed calls, this still sees them."""
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.]+)["']\s*[,)]""", path.read_text()))
    for lang in ("en", "id"):
        known = load_messages(lang)
        assert len(used) > 400 and used <= set(known), (lang, sorted(used - set(known)))


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
