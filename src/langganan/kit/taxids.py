"""Indonesian tax identity numbers, as formats: NPWP, NIK and NITKU (DJP's Coretax era, PMK 112/2022).

- NPWP: 15 digits (the old form, often written 01.234.567.8-901.000) or 16. Since 2024 the 16-digit NPWP is
  the only one Coretax takes: a 15-digit NPWP becomes 16 digits by a leading 0, and an Indonesian individual's
  NPWP is their NIK.
- NIK (Nomor Induk Kependudukan): 16 digits, PP KK CC DDMMYY NNNN: province, regency, district, birth day
  (plus 40 for women), birth month, birth year, a serial number.
- Tax invoice number (Nomor Seri Faktur Pajak, Coretax era, PER-11/PJ/2025 art. 37): 17 digits, a 2-digit
  transaction code (01-10), a 2-digit status code (00 normal, 01 replacement) and a 13-digit serial number DJP
  assigns.
- NITKU (Nomor Identitas Tempat Kegiatan Usaha): 22 digits, the 16-digit NPWP and a 6-digit place of business
  (000000: the head office).

Each `*_digits` function takes what a person types (dots, dashes and spaces allowed between digits) and
returns the digits as stored, or None when the text is not such a number.
"""

from __future__ import annotations

import re

SEPARATORS = re.compile(r"[.\-\s]")
HEAD_OFFICE = "000000"  # the place-of-business part of a head office's NITKU


def _digits(text: str) -> str | None:
    digits = SEPARATORS.sub("", text.strip())
    return digits if digits.isascii() and digits.isdigit() else None


def npwp_digits(text: str) -> str | None:
    """The 16-digit NPWP of a 15- or 16-digit NPWP (15 digits gain a leading 0); None if it is neither."""
    digits = _digits(text)
    if digits is None or len(digits) not in (15, 16) or set(digits) == {"0"}:
        return None
    return digits.zfill(16)


def nik_digits(text: str) -> str | None:
    """A NIK's 16 digits when the text is one (its birth day 01-31 or 41-71, its month 01-12)."""
    digits = _digits(text)
    if digits is None or len(digits) != 16 or digits[:2] == "00":
        return None
    day, month = int(digits[6:8]), int(digits[8:10])
    if not (1 <= day <= 31 or 41 <= day <= 71) or not 1 <= month <= 12:
        return None
    return digits


def nitku_digits(text: str) -> str | None:
    """A NITKU's 22 digits when the text is one: a 16-digit NPWP and a 6-digit place of business."""
    digits = _digits(text)
    if digits is None or len(digits) != 22 or npwp_digits(digits[:16]) is None:
        return None
    return digits


def head_office_nitku(npwp16: str) -> str:
    """The NITKU of a taxpayer's head office."""
    return npwp16 + HEAD_OFFICE


def tax_invoice_number_digits(text: str) -> str | None:
    """A Coretax tax invoice number's 17 digits when the text is one (transaction code 01-10, status 00 or 01)."""
    digits = _digits(text)
    if digits is None or len(digits) != 17 or not 1 <= int(digits[:2]) <= 10 or digits[2:4] not in ("00", "01"):
        return None
    return digits


def is_replacement(number: str) -> bool:
    """Whether a tax invoice number (17 digits) is a replacement's (status code 01)."""
    return number[2:4] == "01"
