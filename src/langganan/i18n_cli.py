"""`langganan i18n`: the message catalogs' steps in a source checkout (the app itself only reads them).

    langganan i18n extract     the t("key") calls of code and templates (babel.cfg) -> new keys into messages.pot
    langganan i18n update      messages.pot -> both .po files (new keys empty, keys gone from the template dropped)
    langganan i18n add KEY ENGLISH INDONESIAN [--comment TEXT]    one message into the template and both languages
    langganan i18n compile     both .po -> .mo (the app also compiles on first use when a .mo is missing or stale)

The template is the list of keys. Extraction only adds to it: keys built at run time ("status." + status, the
error codes, the PDF's labels) are found by no extractor, so nothing is removed from the template by extracting;
delete a key from messages.pot by hand and `update` drops it from both languages. Files are written as
`pybabel update -N --ignore-obsolete` writes them (sorted by key, no locations, width 76), so the plain
pybabel commands and these produce the same files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Annotated

import typer
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from langganan.kit.locales import LOCALES
from langganan.kit.translations import LOCALE_DIR, catalog_files, compile_catalog, read_catalog

SOURCES = LOCALE_DIR.parent  # src/langganan: the mapping's patterns are relative to it
TEMPLATE = LOCALE_DIR / "messages.pot"
MAPPING = SOURCES.parents[1] / "babel.cfg"  # the checkout's root, where pybabel is run from
KEYWORDS = {"t": None}  # t("key", name=value): the first argument is the key
WIDTH = 76  # pybabel's default
PLACEHOLDER = re.compile(r"{(\w+)}")

i18n_app = typer.Typer(help="Message catalogs (gettext .po files under src/langganan/locale).", no_args_is_help=True)


@dataclass(frozen=True)
class Entry:
    key: str
    english: str
    indonesian: str
    comment: str | None = None  # a `#.` comment for translators; None keeps the one the key has


def _keys(catalog: Catalog) -> set[str]:
    return {m.id for m in catalog if m.id and isinstance(m.id, str)}


def write_catalog(path: Path, catalog: Catalog) -> None:
    out = BytesIO()
    write_po(out, catalog, width=WIDTH, no_location=True, sort_output=True, ignore_obsolete=True)
    path.write_bytes(out.getvalue())


def extract_keys(mapping: Path = MAPPING, sources: Path = SOURCES) -> dict[str, set[str]]:
    """Every literal key of a t("key") call in the files babel.cfg maps, with the files using it."""
    from babel.messages.frontend import parse_mapping_cfg  # the command line's module: only when extracting

    with mapping.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(mapping))
    found: dict[str, set[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(sources), method_map, options_map, keywords=KEYWORDS):
        if isinstance(message, str) and not message.endswith("."):  # Babel's Python extractor gives the
            found.setdefault(message, set()).add(filename)       # "con.act." of t("con.act." + action)
    return found


def add_to_template(keys: Iterable[str], template_path: Path = TEMPLATE) -> list[str]:
    template = read_catalog(template_path)
    added = sorted(set(keys) - _keys(template))
    for key in added:
        template.add(key, "")
    if added:
        write_catalog(template_path, template)
    return added


def update_catalogs(template_path: Path = TEMPLATE,
                    locale_dir: Path = LOCALE_DIR) -> dict[str, tuple[list[str], list[str]]]:
    """`pybabel update -N --ignore-obsolete`: each language gets the template's keys and comments, keeping its
    texts. Answers per language the keys added (empty) and dropped."""
    template = read_catalog(template_path)
    changes = {}
    for lang in LOCALES:
        po, _mo = catalog_files(lang, locale_dir)
        catalog = read_catalog(po, lang)
        before = _keys(catalog)
        catalog.update(template, no_fuzzy_matching=True)
        after = _keys(catalog)
        write_catalog(po, catalog)
        changes[lang] = (sorted(after - before), sorted(before - after))
    return changes


def set_messages(entries: Iterable[Entry], template_path: Path = TEMPLATE,
                 locale_dir: Path = LOCALE_DIR) -> list[tuple[str, str]]:
    """Each entry's key into the template and its texts into both languages (added, or replacing the texts it
    had). Answers (key, "added" | "changed") for what changed."""
    template = read_catalog(template_path)
    files = {lang: catalog_files(lang, locale_dir)[0] for lang in LOCALES}
    catalogs = {lang: read_catalog(path, lang) for lang, path in files.items()}
    done: list[tuple[str, str]] = []
    for entry in entries:
        texts = {"en": entry.english, "id": entry.indonesian}
        if set(PLACEHOLDER.findall(entry.english)) != set(PLACEHOLDER.findall(entry.indonesian)):
            raise ValueError(f"{entry.key}: the two texts do not have the same {{placeholders}}")
        known = template.get(entry.key)
        comments = [entry.comment] if entry.comment else list(known.auto_comments if known else [])
        if known is None:
            template.add(entry.key, "", auto_comments=comments)
        else:
            known.auto_comments = comments
        change = "added" if known is None else None
        for lang, catalog in catalogs.items():
            message = catalog.get(entry.key)
            if message is None:
                catalog.add(entry.key, texts[lang], auto_comments=comments)
                change = change or "added"
            else:
                if message.string != texts[lang] or message.fuzzy:
                    change = change or "changed"
                message.string, message.auto_comments = texts[lang], comments
                message.flags.discard("fuzzy")
        if change:
            done.append((entry.key, change))
    write_catalog(template_path, template)
    for lang, catalog in catalogs.items():
        write_catalog(files[lang], catalog)
    return done


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> dict[str, tuple[int, int]]:
    """Both languages compiled; per language (messages compiled, messages left out: empty or fuzzy)."""
    counts = {}
    for lang in LOCALES:
        po, mo = catalog_files(lang, locale_dir)
        catalog = compile_catalog(po, mo)
        ready = sum(1 for m in catalog if m.id and m.string and not m.fuzzy)
        counts[lang] = (ready, sum(1 for m in catalog if m.id) - ready)
    return counts


@i18n_app.command("extract")
def extract_cmd(check: Annotated[bool, typer.Option(help="Change nothing; exit 1 when a key is missing")] = False,
                ) -> None:
    """Add the keys the code and templates use that messages.pot lacks (then `update` and fill in the texts)."""
    found = extract_keys()
    template = _keys(read_catalog(TEMPLATE))
    missing = sorted(set(found) - template)
    for key in missing:
        typer.echo(f"{key}  ({', '.join(sorted(found[key]))})")
    if check:
        typer.echo(f"{len(found)} keys used, {len(missing)} missing from {TEMPLATE.name}")
        raise typer.Exit(1 if missing else 0)
    add_to_template(missing)
    typer.echo(f"{len(found)} keys used; {len(missing)} added to {TEMPLATE.name}"
               + ("; now `langganan i18n update` and write their texts in both .po files" if missing else ""))


@i18n_app.command("update")
def update_cmd() -> None:
    """Bring both .po files to messages.pot's keys, keeping their texts."""
    for lang, (added, dropped) in update_catalogs().items():
        typer.echo(f"{lang}: {len(added)} added (to be written){': ' + ', '.join(added) if added else ''}; "
                   f"{len(dropped)} dropped{': ' + ', '.join(dropped) if dropped else ''}")


@i18n_app.command("add")
def add_cmd(key: Annotated[str, typer.Argument(help="The message's key, e.g. error.card_expired")],
            english: Annotated[str, typer.Argument(help="The English text ({name} placeholders allowed)")],
            indonesian: Annotated[str, typer.Argument(help="The Indonesian text, the same placeholders")],
            comment: Annotated[str | None, typer.Option(help="A note for translators (#.)")] = None) -> None:
    """Add a message (or replace its texts) in messages.pot and both languages."""
    try:
        done = set_messages([Entry(key, english, indonesian, comment)])
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{key}: {done[0][1] if done else 'unchanged'}")


@i18n_app.command("compile")
def compile_cmd() -> None:
    """Compile both .po files to .mo (what the app does by itself when a .mo is missing or stale)."""
    for lang, (ready, left_out) in compile_catalogs().items():
        typer.echo(f"{lang}: {ready} messages compiled" + (f", {left_out} empty or fuzzy left out" if left_out else ""))
