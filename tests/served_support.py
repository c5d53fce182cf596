"""A real HTTP server for the tests that need one on loopback (the browser, the README's walk-through in a shell,
a generated client): the app served by uvicorn from a thread on a free port, on a copy of the migrated SQLite
template."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from langganan.app import open_database
from langganan.catalog import service as catalog_service
from langganan.kit.db import Database
from tests.notify_support import free_port


def sqlite_copy(tmp_path: Path, template: Path, name: str) -> Database:
    """A database of the test's own: the migrated template copied to `tmp_path/name`."""
    catalog_service.forget_cache()
    path = tmp_path / name
    shutil.copy(template, path)
    return open_database(f"sqlite:///{path}")


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served on 127.0.0.1 until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
