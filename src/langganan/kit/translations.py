"""The message catalogs: gettext files under `langganan/locale/<lang>/LC_MESSAGES/messages.po`, one per language,
keys as msgids ("error.csrf") and `{name}` placeholders filled by str.format (web/i18n.py's translator, the
invoice PDF's labels).

The .po files are the source and nothing else holds a message. A process reads each language's compiled .mo
once; a .mo that is missing or older than its .po is compiled from it on first use, next to it (written to a
temporary name and renamed, so processes starting together never read half a file), or in memory when the
directory cannot be written (an installed, read-only package). So a fresh clone, an edited .po or a merge never
shows stale text, and no build step can be forgotten."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from langganan.kit.locales import LOCALES

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
FALLBACK = "en"  # a message missing from a language is said in English


def catalog_files(lang: str, locale_dir: Path = LOCALE_DIR) -> tuple[Path, Path]:
    """The language's .po (source) and .mo (compiled) files."""
    folder = locale_dir / lang / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def read_catalog(po: Path, lang: str | None = None) -> Catalog:
    with po.open("rb") as source:
        return read_po(source, locale=lang, domain=DOMAIN)


def compile_catalog(po: Path, mo: Path) -> Catalog:
    """`pybabel compile` for one file: the .po read and written as .mo (fuzzy and empty messages left out),
    atomically. Raises OSError when the .mo cannot be written; returns the catalog read."""
    catalog = read_catalog(po)
    temporary = mo.with_name(f".{mo.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with temporary.open("xb") as out:
            write_mo(out, catalog)
        os.replace(temporary, mo)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return catalog


def _texts(catalog: Catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog
            if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy}


def load_messages(lang: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """One language's messages, key -> text, from its compiled catalog (compiled first when missing or stale)."""
    po, mo = catalog_files(lang, locale_dir)
    if po.exists() and (not mo.exists() or mo.stat().st_mtime_ns < po.stat().st_mtime_ns):
        try:
            catalog = compile_catalog(po, mo)
        except OSError:  # not writable: this process reads the .po itself
            return _texts(read_catalog(po))
        return _texts(catalog)
    with mo.open("rb") as compiled:
        return _texts(read_mo(compiled))


def messages(lang: str) -> Mapping[str, str]:
    """The language's messages with English beneath, read once per process; an unknown language is English."""
    return _messages(lang if lang in LOCALES else FALLBACK)


@cache
def _messages(lang: str) -> Mapping[str, str]:
    merged = load_messages(FALLBACK)
    if lang != FALLBACK:
        merged.update(load_messages(lang))
    return MappingProxyType(merged)
