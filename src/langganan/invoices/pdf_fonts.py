"""The invoice PDF's fonts, read once per process.

fpdf2's `FPDF.add_font` reads the whole font file into its metrics and character map for every document: a fifth of
a Latin invoice's time (98 -> 78 ms) and ~65 ms more with the CJK fallback (bench/app_and_pdf.py); every invoice and
receipt email draws one. `add_font` here gives a document a copy of the font as fpdf2 read it the first time, with
the state that is the document's own: its font number, the glyphs it uses (the subset map) and the fontTools font
that fpdf2 subsets in place when it writes the document (reopened from the bytes in memory, lazily: only the tables
the subset needs are read). fpdf2 is pinned (pyproject.toml); tests/unit/test_invoice_pdf.py checks that a document
gets the same bytes as with `FPDF.add_font`.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import cast

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont


@cache
def font_bytes(name: str) -> bytes:
    """A font file of the package (`invoices/fonts/<name>`)."""
    return (files("langganan") / "invoices" / "fonts" / name).read_bytes()


@cache
def _read(name: str, family: str, style: str) -> TTFFont:
    # (fpdf2 types the file as a path; fontTools reads a file object as well, and the name only decides
    # whether it is a compressed WOFF)
    return TTFFont(FPDF(), cast(Path, BytesIO(font_bytes(name))), f"{family}{style}", style)


def add_font(pdf: FPDF, family: str, style: str, name: str) -> TTFFont:
    """What `pdf.add_font(family, style, <fonts/name>)` does, without reading the file again."""
    font = copy.copy(_read(name, family, style))
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(BytesIO(font_bytes(name)), recalcTimestamp=False, lazy=True)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font
    return font
