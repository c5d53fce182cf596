"""Archive files: one gzip CSV per table and month (`deliveries-2026-09.csv.gz`; a later run that finds more rows
of an archived month adds `deliveries-2026-09.2.csv.gz`), a header row, then the rows in key order.

A file is written under a hidden temporary name, fsynced, renamed into place and its directory fsynced: a file
with the final name is complete. The bytes depend on the rows only (gzip's time stamp and name are left out), so
writing the same rows again gives the same file."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from langganan.exports.csv_out import cell

SUFFIX = ".csv.gz"


def cell_text(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return cell(value)


def name_for(table: str, month: str, n: int = 1) -> str:
    return f"{table}-{month}{SUFFIX}" if n == 1 else f"{table}-{month}.{n}{SUFFIX}"


def existing(out: Path, table: str, month: str) -> list[Path]:
    """The files already written for this table and month, first one first."""
    found, n = [], 1
    while (out / name_for(table, month, n)).exists():
        found.append(out / name_for(table, month, n))
        n += 1
    return found


def keys_in(paths: Iterable[Path], key: str = "id") -> set[str]:
    """The keys (as written) of every row in these files."""
    keys: set[str] = set()
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            keys.update(row[key] for row in csv.DictReader(f))
    return keys


class Writer:
    """Rows into `path`, atomically: `close()` puts the complete file in place, `discard()` leaves nothing."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.temp = path.with_name(f".{path.name}.tmp")
        self.rows = 0
        self._raw = open(self.temp, "wb")  # noqa: SIM115 (closed by close or discard)
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        self._text = io.TextIOWrapper(self._gzip, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text)
        self._csv.writerow(columns)

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self._csv.writerow([cell_text(v) for v in row])
            self.rows += 1

    def close(self) -> int:
        """Finish, fsync and rename into place; the file's size in bytes."""
        self._text.close()  # (closes the gzip stream, which writes its trailer; not the raw file)
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.temp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.path.stat().st_size

    def discard(self) -> None:
        self._text.close()
        self._raw.close()
        self.temp.unlink(missing_ok=True)
