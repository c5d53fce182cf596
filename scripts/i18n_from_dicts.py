"""ONE-OFF MIGRATION TOOL: delete it once no branch still edits the old Python dictionaries.

The messages used to be Python dictionaries: web/i18n.py's EN/ID, web/i18n_console.py's CONSOLE_EN/CONSOLE_ID,
web/declines.py's MESSAGES (code -> (English, Indonesian); "error.<code>" unless the pages already word that
code) and invoices/pdf.py's LABELS and MONTHS ("pdf.<label>", "pdf.month.<1-12>"). This moves them into the
gettext catalogs (src/langganan/locale). It reads the files as text, nothing is imported.

    # what the catalogs were made with (once, on wt/babel)
    PYTHONPATH=src python scripts/i18n_from_dicts.py --init OLD/i18n.py OLD/i18n_console.py OLD/declines.py OLD/pdf.py

    # merging a branch that still added or changed dictionary entries: the entries it added or changed since it
    # started (git merge-base HEAD BRANCH) go into the catalogs; run it before resolving the conflicts in those
    # files in favour of the catalogs' version
    PYTHONPATH=src python scripts/i18n_from_dicts.py --branch wt/portal [--dry-run]

A key the branch changed that was changed here too is printed as CONFLICT and left as it is here; a key the branch
removed is printed and left. Decline codes the branch added are printed: add them to CODES in web/declines.py.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog

from langganan.i18n_cli import TEMPLATE, Entry, set_messages, write_catalog
from langganan.kit.translations import catalog_files, load_messages
from langganan.web.declines import CODES


def language_of(variable: str) -> str | None:
    """EN, CONSOLE_EN, OPERATORS_EN, ... hold English; ID, CONSOLE_ID, ... Indonesian (all merged into the pages')."""
    for lang in ("en", "id"):
        if variable == lang.upper() or variable.endswith(f"_{lang.upper()}"):
            return lang
    return None

# `#.` comments for translators, by key prefix (the longest matching prefix wins): the groups whose keys are built
# at run time, so no location tells where they are shown.
COMMENTS = {
    "error.": "The sentence for the error code after \"error.\": a domain error, a form field's check or a "
              "payment's failure; pages look it up by code.",
    "status.": "An invoice's status (invoice lists and pages).",
    "type.": "An invoice's type (invoice lists and pages).",
    "method.": "How a payment was made.",
    "entry.": "A wallet ledger entry's kind (Usage History, the console's account page).",
    "feature.": "A plan feature (catalog.toml's feature code).",
    "meter.": "A usage meter (catalog.toml's meter code).",
    "limit.": "A plan limit (catalog.toml's limit code).",
    "item.": "An add-on's state.",
    "interval.": "A billing interval.",
    "per.": "A billing interval after a price: Rp499.000 / month.",
    "wallet.": "A prepaid wallet's name.",
    "billing.buyer_type.": "The buyer's tax identity kind (billing information).",
    "con.act.": "Console: an action on an account (console/pages_accounts.py); keys by action and error code.",
    "console.nav": "Console navigation.",
    "hook.state.": "A webhook endpoint's or delivery's state.",
    "promo.kind.": "A promotion's kind of discount.",
    "promo.state.": "A promotion's state.",
    "stmt.": "Console: bank statements (console/pages_statements.py).",
    "unp.": "Console: held (unapplied) money (console/pages_unapplied.py).",
    "con.rev.": "Console: revenue per month (console/pages_finance.py).",
    "con.exp.": "Console: CSV exports (console/pages_finance.py).",
    "con.cn.": "Console: credit notes (console/pages_credit_notes.py).",
    "pdf.": "Invoice PDF (invoices/pdf.py).",
    "pdf.s.": "Invoice PDF: an invoice's status.",
    "pdf.t.": "Invoice PDF: an invoice's type.",
    "pdf.month.": "Invoice PDF: this month's short name in dates such as \"5 Mar 2027\".",
}
DECLINE = ("Why a card payment failed or a payment provider refused, by langganan's code (web/declines.py): "
           "pages, the feed and emails say it in the account's language instead of the gateway's text.")


HEADER = """langganan's messages{lang}.
Keys are the msgids ("error.csrf"): pages call t("key", name=value);
the invoice PDF and the payment declines look keys up
(src/langganan/kit/translations.py). {{name}} placeholders are filled
by str.format: keep each one, translate around it.
Add or change a message: langganan i18n add KEY ENGLISH INDONESIAN
(src/langganan/i18n_cli.py)."""


def init_catalogs() -> None:
    """Empty catalogs with their headers: the template and one .po per language."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for lang, title, path in ((None, " (template: keys and comments)", TEMPLATE),
                              ("en", " in English", catalog_files("en")[0]),
                              ("id", " in Bahasa Indonesia", catalog_files("id")[0])):
        if path.exists():
            raise SystemExit(f"{path} exists already")
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=lang, domain="messages", header_comment="\n".join(
            f"# {line}" for line in HEADER.format(lang=title).splitlines()), project="langganan",
            version="1", copyright_holder="langganan", msgid_bugs_address="langganan", creation_date=now,
            revision_date=now, last_translator="langganan", language_team="langganan", fuzzy=lang is None)
        write_catalog(path, catalog)


def comment_for(key: str, decline: bool) -> str | None:
    if decline:
        return DECLINE
    prefixes = [p for p in COMMENTS if key.startswith(p)]
    return COMMENTS[max(prefixes, key=len)] if prefixes else None


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise ValueError(f"line {node.lineno}: not a plain string")


def _dict(node: ast.expr) -> dict[str, ast.expr]:
    if not isinstance(node, ast.Dict):
        raise ValueError(f"line {node.lineno}: not a dictionary literal")
    return {_text(k): v for k, v in zip(node.keys, node.values, strict=True) if k is not None}


def read_dicts(source: str, name: str) -> tuple[dict[str, str], dict[str, str], dict[str, tuple[str, str]]]:
    """A Python source's English and Indonesian messages by key, and its decline messages by code."""
    english: dict[str, str] = {}
    indonesian: dict[str, str] = {}
    declines: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source, name).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            variable, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            variable, value = node.targets[0].id, node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
              and isinstance(node.targets[0].value, ast.Name) and language_of(node.targets[0].value.id)):
            target = english if language_of(node.targets[0].value.id) == "en" else indonesian  # EN["key"] = "..."
            target[_text(node.targets[0].slice)] = _text(node.value)
            continue
        else:
            continue
        if language_of(variable):
            target = english if language_of(variable) == "en" else indonesian
            target |= {k: _text(v) for k, v in _dict(value).items()}
        elif variable == "MESSAGES":
            for code, pair in _dict(value).items():
                if not (isinstance(pair, ast.Tuple) and len(pair.elts) == 2):
                    raise ValueError(f"line {pair.lineno}: MESSAGES[{code!r}] is not (English, Indonesian)")
                declines[code] = (_text(pair.elts[0]), _text(pair.elts[1]))
        elif variable == "LABELS":
            for lang, labels in _dict(value).items():
                target = english if lang == "en" else indonesian
                target |= {f"pdf.{k}": _text(v) for k, v in _dict(labels).items()}
        elif variable == "MONTHS":
            for lang, names in _dict(value).items():
                target = english if lang == "en" else indonesian
                assert isinstance(names, ast.List) and len(names.elts) == 12
                target |= {f"pdf.month.{n}": _text(v) for n, v in enumerate(names.elts, start=1)}
    return english, indonesian, declines


Messages = dict[str, tuple[str, str]]  # key: (English, Indonesian)
FILES = ("src/langganan/web/i18n.py", "src/langganan/web/i18n_console.py", "src/langganan/web/declines.py",
         "src/langganan/invoices/pdf.py")


def messages_of(sources: list[tuple[str, str]]) -> tuple[Messages, set[str], set[str]]:
    """The messages of Python sources (name, text) as the dictionaries made them, the keys that are decline
    sentences, and the decline codes."""
    english: dict[str, str] = {}
    indonesian: dict[str, str] = {}
    declines: dict[str, tuple[str, str]] = {}
    for name, text in sources:
        en, id_, dec = read_dicts(text, name)
        english |= en
        indonesian |= id_
        declines |= dec
    if set(english) != set(indonesian):
        raise SystemExit(f"keys in one language only: {sorted(set(english) ^ set(indonesian))}")
    decline_keys = set()
    for code, (in_english, in_indonesian) in declines.items():  # the pages' own wording of a code wins
        key = f"error.{code}"
        english.setdefault(key, in_english)
        indonesian.setdefault(key, in_indonesian)
        decline_keys.add(key)
    return {key: (english[key], indonesian[key]) for key in english}, decline_keys, set(declines)


def git_sources(ref: str) -> list[tuple[str, str]]:
    found = []
    for path in FILES:
        shown = subprocess.run(["git", "show", f"{ref}:{path}"], capture_output=True, text=True, check=False)
        if shown.returncode == 0:
            found.append((f"{ref}:{path}", shown.stdout))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="with --init: the files to convert")
    parser.add_argument("--init", action="store_true", help="create the catalogs from FILES (the first conversion)")
    parser.add_argument("--branch", help="a branch that edited the dictionaries: move what it added or changed")
    parser.add_argument("--base", help="where the branch started (default: git merge-base HEAD BRANCH)")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    have_en, have_id = (load_messages("en"), load_messages("id")) if not args.init else ({}, {})
    current = {key: (text, have_id.get(key, "")) for key, text in have_en.items()}
    if args.init:
        wanted, decline_keys, codes = messages_of([(str(p), p.read_text(encoding="utf-8")) for p in args.files])
        base: Messages = {}
    elif args.branch:
        start = args.base or subprocess.run(["git", "merge-base", "HEAD", args.branch], capture_output=True,
                                            text=True, check=True).stdout.strip()
        wanted, decline_keys, codes = messages_of(git_sources(args.branch))
        base, _keys, base_codes = messages_of(git_sources(start))
        codes -= base_codes
        for key in sorted(set(base) - set(wanted)):
            print(f"removed on the branch (left in the catalogs; delete it from messages.pot and run "
                  f"`langganan i18n update` if no code uses it): {key}")
        wanted = {key: texts for key, texts in wanted.items() if base.get(key) != texts}
    else:
        parser.error("--init FILES or --branch BRANCH")
    entries = []
    for key, (english, indonesian) in sorted(wanted.items()):
        now = current.get(key)
        if now == (english, indonesian):
            continue
        if now is not None and now != base.get(key):  # both sides wrote it
            print(f"CONFLICT {key}: changed on the branch and here; left as it is here\n"
                  f"    here:   {now}\n    branch: {(english, indonesian)}")
            continue
        print(f"{'add' if now is None else 'change'} {key}")
        if now is not None:
            print(f"    {now}\n -> {(english, indonesian)}")
        # a new key gets its group's comment; a changed one keeps what it has
        comment = comment_for(key, key in decline_keys) if now is None else None
        entries.append(Entry(key, english, indonesian, comment))
    new_codes = sorted(codes - CODES)
    if new_codes:
        print("decline codes to add to CODES in src/langganan/web/declines.py:", ", ".join(new_codes))
    if args.init:
        init_catalogs()
    if not args.dry_run and entries:
        set_messages(entries)
    print(f"{len(entries)} messages {'would be written' if args.dry_run else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
