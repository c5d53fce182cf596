"""The gettext message catalogs (src/langganan/locale): every message in both languages with the same placeholders,
every key the code uses in the template, the compiled catalogs read once and rebuilt when stale, and the
`langganan i18n` steps writing what pybabel writes."""

from __future__ import annotations

import ast
import os
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_mapping_cfg

from langganan.i18n_cli import (
    MAPPING,
    SOURCES,
    TEMPLATE,
    Entry,
    add_to_template,
    set_messages,
    update_catalogs,
    write_catalog,
)
from langganan.invoices.models import InvoiceStatus, InvoiceType
from langganan.kit.translations import LOCALE_DIR, catalog_files, load_messages, read_catalog
from langganan.web import declines
from langganan.web.i18n import translator

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "id")


def keys(catalog: Catalog) -> set[str]:
    return {m.id for m in catalog if m.id and isinstance(m.id, str)}


def placeholders(text: str) -> set[str]:
    """The `{name}` fields str.format fills (raises ValueError on a brace str.format cannot read)."""
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def po(lang: str) -> Catalog:
    return read_catalog(catalog_files(lang)[0], lang)


def test_every_key_of_the_template_has_a_text_in_both_languages_and_nothing_is_fuzzy() -> None:
    template = keys(read_catalog(TEMPLATE))
    assert len(template) > 800
    for lang in LANGS:
        catalog = po(lang)
        assert keys(catalog) == template, (lang, sorted(keys(catalog) ^ template))
        assert not catalog.fuzzy and str(catalog.locale) == lang
        empty = sorted(m.id for m in catalog if m.id and not m.string)
        fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
        assert empty == [] and fuzzy == [], (lang, empty, fuzzy)
        assert not catalog.obsolete


def test_both_languages_have_the_same_placeholders() -> None:
    english, indonesian = po("en"), po("id")
    for message in english:
        if message.id:
            other = indonesian[message.id]
            assert placeholders(message.string) == placeholders(other.string), message.id


def test_babel_extraction_finds_no_key_the_template_lacks() -> None:
    """Babel's extraction (babel.cfg: Python files and Jinja2 templates, keyword t) run here, as `pybabel
    extract` runs it; the template may hold more (keys built at run time), never less."""
    with MAPPING.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(MAPPING))
    found = {message: filename for filename, _line, message, _comments, _context
             in extract_from_dir(str(SOURCES), method_map, options_map, keywords={"t": None})
             if not message.endswith(".")}  # Python's extractor gives "con.act." for t("con.act." + action)
    # both extractors are at work: a template's key and the one Python t() call of src/
    assert len(found) > 400 and found["nav.skip"] == "templates/base.html"
    assert found["error.generic"] == "web/templating.py"
    template = keys(read_catalog(TEMPLATE))
    assert set(found) <= template, sorted(set(found) - template)


def test_keys_the_tests_use_exist() -> None:
    """The browser tests find controls by the catalog's text: t("con.act.reason")."""
    found = {message for _filename, _line, message, _comments, _context
             in extract_from_dir(str(ROOT / "tests" / "browser"), [("**.py", "python")], keywords={"t": None})}
    found = {key for key in found if isinstance(key, str) and not key.endswith(".")}  # t("con.act." + action)
    template = keys(read_catalog(TEMPLATE))
    assert found and found <= template, sorted(found - template)


def test_compiled_catalogs_translate_known_messages() -> None:
    indonesian, english = translator("id"), translator("en")
    assert indonesian("error.csrf") == "Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi."
    assert english("error.csrf") == "The form expired. Reload the page and try again."
    assert indonesian("topup.limits", low="Rp10.000", high="Rp5.000.000") == \
        "Minimal isi saldo: Rp10.000. Maksimal isi saldo: Rp5.000.000."
    assert translator("xx") is english and translator("id") is indonesian  # one per language and process
    assert indonesian.has("nav.skip") and not indonesian.has("no.such.key") and indonesian("no.such.key") == \
        "no.such.key"
    assert declines.message("card_declined", "id") == "Kartu ditolak."
    assert declines.message("card_declined", "en") == "The card was declined."
    assert declines.message("gateway_said_no", "id", fallback="No.") == "No."
    for code in declines.CODES:  # every decline code has its sentence in both languages
        assert indonesian.has(f"error.{code}") and indonesian(f"error.{code}") != english(f"error.{code}"), code


def test_every_label_the_invoice_pdf_asks_for_is_in_both_languages() -> None:
    """pdf.py's f.label("key") is the catalogs' "pdf.key" (a missing one would print nothing); its statuses and
    types are asked for by name at run time (months are Babel's, as on the pages)."""
    tree = ast.parse((SOURCES / "invoices" / "pdf.py").read_text(encoding="utf-8"))
    used = {f"pdf.{node.value}" for call in ast.walk(tree) if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute) and call.func.attr == "label"
            for node in ast.walk(call.args[0]) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and not node.value.endswith(".")}  # f.label(f"s.{status}")'s first part
    used |= {f"pdf.s.{status}" for status in InvoiceStatus} | {f"pdf.t.{kind}" for kind in InvoiceType}
    assert len(used) > 30
    for lang in LANGS:
        assert used <= set(load_messages(lang)), (lang, sorted(used - set(load_messages(lang))))


@pytest.fixture
def locale_dir(tmp_path: Path) -> Path:
    """A copy of the catalogs (.po and template only) to change."""
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy, ignore=shutil.ignore_patterns("*.mo", ".*"))
    return copy


def _set_text(po_path: Path, lang: str, key: str, text: str, later_than: Path | None = None) -> None:
    catalog = read_catalog(po_path, lang)
    catalog[key].string = text
    write_catalog(po_path, catalog)
    if later_than is not None:  # the edit is newer than the compiled file, whatever the clock's resolution
        stamp = later_than.stat().st_mtime_ns + 1_000_000
        os.utime(po_path, ns=(stamp, stamp))


def test_a_missing_or_stale_compiled_catalog_is_compiled_from_its_po(locale_dir: Path) -> None:
    po_path, mo_path = catalog_files("id", locale_dir)
    assert not mo_path.exists()
    assert load_messages("id", locale_dir)["error.csrf"].startswith("Formulir kedaluwarsa")
    assert mo_path.exists()
    compiled = mo_path.stat().st_mtime_ns
    assert load_messages("id", locale_dir)["nav.skip"] and mo_path.stat().st_mtime_ns == compiled  # read as is
    _set_text(po_path, "id", "nav.skip", "Langsung ke isi", later_than=mo_path)
    assert load_messages("id", locale_dir)["nav.skip"] == "Langsung ke isi"
    assert mo_path.stat().st_mtime_ns > compiled
    assert [p.name for p in mo_path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_catalog_that_cannot_be_compiled_in_place_is_read_from_its_po(locale_dir: Path) -> None:
    po_path, mo_path = catalog_files("id", locale_dir)
    mo_path.mkdir()  # something that cannot be replaced by a file stands where the .mo goes (stops root too)
    os.utime(mo_path, ns=(1, 1))
    _set_text(po_path, "id", "nav.skip", "Langsung ke isi")
    assert load_messages("id", locale_dir)["nav.skip"] == "Langsung ke isi"
    assert mo_path.is_dir() and [p.name for p in mo_path.parent.iterdir() if p.name.startswith(".")] == []


def test_add_puts_a_message_in_the_template_and_both_languages_and_update_drops_a_removed_key(
        locale_dir: Path) -> None:
    template = locale_dir / "messages.pot"
    done = set_messages([Entry("demo.greeting", "Hello {name}", "Halo {name}", "A greeting.")], template, locale_dir)
    assert done == [("demo.greeting", "added")]
    assert read_catalog(template)["demo.greeting"].auto_comments == ["A greeting."]
    assert load_messages("id", locale_dir)["demo.greeting"] == "Halo {name}"
    assert set_messages([Entry("demo.greeting", "Hello {name}", "Hai {name}")], template, locale_dir) == \
        [("demo.greeting", "changed")]
    assert read_catalog(catalog_files("id", locale_dir)[0])["demo.greeting"].auto_comments == ["A greeting."]
    before = {path: path.read_bytes() for path in locale_dir.rglob("*.po*")}
    with pytest.raises(ValueError, match="placeholders"):
        set_messages([Entry("demo.other", "Hi {name}", "Hai {nama}")], template, locale_dir)
    assert {path: path.read_bytes() for path in locale_dir.rglob("*.po*")} == before  # nothing written

    catalog = read_catalog(template)
    del catalog["demo.greeting"]
    write_catalog(template, catalog)
    assert add_to_template(["demo.new", "nav.skip"], template) == ["demo.new"]
    changes = update_catalogs(template, locale_dir)
    assert changes == {lang: (["demo.new"], ["demo.greeting"]) for lang in LANGS}
    for lang in LANGS:
        catalog = read_catalog(catalog_files(lang, locale_dir)[0], lang)
        assert "demo.greeting" not in keys(catalog) and catalog["demo.new"].string == ""


def test_update_writes_what_pybabel_update_writes(locale_dir: Path, tmp_path: Path) -> None:
    """So the README's pybabel command lines and `langganan i18n` can be used in turn without a diff."""
    template = locale_dir / "messages.pot"
    add_to_template(["demo.new"], template)
    theirs = tmp_path / "theirs"
    shutil.copytree(locale_dir, theirs)
    update_catalogs(template, locale_dir)
    CommandLineInterface().run(["pybabel", "-q", "update", "-N", "--ignore-obsolete", "-i",
                                str(theirs / "messages.pot"), "-d", str(theirs)])
    for lang in LANGS:
        ours, pybabel = catalog_files(lang, locale_dir)[0], catalog_files(lang, theirs)[0]
        assert ours.read_bytes() == pybabel.read_bytes(), lang
