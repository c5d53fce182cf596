"""Applying the catalog file and reading catalog versions (cached: a version never changes)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import tomllib
import weakref
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from langganan.catalog import repository
from langganan.catalog.models import CatalogVersion
from langganan.catalog.rules import Catalog, CatalogInvalid, parse_catalog
from langganan.kit.errors import Conflict
from langganan.kit.work import Work

_cache: dict[tuple[str, int], Catalog] = {}
_lock = threading.Lock()


def default_catalog_path() -> Path:
    return Path(str(resources.files("langganan") / "catalog.toml"))


def load_file(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        content = tomllib.load(fh)
    parse_catalog(content)  # validate before anything is stored
    return content


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _db(session: Work) -> str:
    """Which database (its URL): the caches below are per database."""
    engine = session.get_bind().engine
    url = _urls.get(engine)
    if url is None:
        url = _urls[engine] = str(engine.url)
    return url


_urls: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _key(session: Work, catalog_id: int) -> tuple[str, int]:
    return (_db(session), catalog_id)


def apply(session: Work, content: dict[str, Any], now: datetime) -> tuple[CatalogVersion, bool]:
    """Store the content as a new version unless an identical one exists. Returns (row, created)."""
    parse_catalog(content)
    digest = _digest(content)
    existing = repository.by_digest(session, digest)
    if existing is not None:
        return existing, False
    current = repository.max_version(session)
    declared = int(content["version"])
    if declared <= current:
        raise CatalogInvalid(
            f"catalog content changed but its version ({declared}) is not above the applied one ({current}); "
            "raise `version` in the file")
    row = CatalogVersion(version=declared, digest=digest, content=content, applied_at=now)
    session.add(row)
    session.flush()
    _latest.pop(_db(session), None)
    return row, True


def get(session: Work, catalog_id: int) -> Catalog:
    key = _key(session, catalog_id)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    row = repository.by_id(session, catalog_id)
    if row is None:
        raise Conflict("catalog_missing", f"Catalog version {catalog_id} does not exist.")
    parsed = parse_catalog(row.content, catalog_id=row.id)
    with _lock:
        _cache[key] = parsed
    return parsed


_LATEST_TTL = 1.0
_latest: dict[str, tuple[float, int]] = {}


def current(session: Work) -> Catalog:
    """The newest applied version. Another process may apply one, so the id is looked up again
    after at most a second; a version applied in this process is seen at once."""
    url = _db(session)
    hit = _latest.get(url)
    if hit is not None and hit[0] > time.monotonic():
        return get(session, hit[1])
    row_id = repository.latest_id(session)
    if row_id is None:
        raise Conflict("catalog_missing", "No catalog has been applied; run `langganan catalog apply`.")
    _latest[url] = (time.monotonic() + _LATEST_TTL, row_id)
    return get(session, row_id)


def forget_cache() -> None:
    _cache.clear()
    _latest.clear()
