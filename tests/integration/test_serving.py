"""How the app is served: the fast HTTP pieces `serve` and the benchmark get from uvicorn, and the
process settings the app takes while it runs."""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from langganan.app import GIL_SWITCH_SECONDS, create_app, open_database
from langganan.config import Settings
from tests.live_support import RefusingGateway


def test_uvicorn_picks_the_httptools_parser_and_uvloop() -> None:
    config = uvicorn.Config(FastAPI())  # what `langganan serve` and bench/ingest.py leave on "auto"
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    loop_factory = config.get_loop_factory()
    assert loop_factory is not None
    loop = loop_factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_the_running_app_hands_the_gil_over_quickly_and_restores_it_after(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'app.db'}")
    app = create_app(Settings(database_url=db.url, mode="live"), db, gateway=RefusingGateway())
    before = sys.getswitchinterval()
    seen: list[float] = []

    async def run() -> None:
        async with app.router.lifespan_context(app):
            seen.append(sys.getswitchinterval())

    with ThreadPoolExecutor(1) as pool:  # a loop of its own: a session-wide Playwright loop may run in this thread
        pool.submit(asyncio.run, run()).result()
    db.dispose()
    assert seen == [GIL_SWITCH_SECONDS]
    assert sys.getswitchinterval() == before


def test_the_app_writes_one_group_of_single_events_at_a_time(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'app.db'}")
    app = create_app(Settings(database_url=db.url, mode="live"), db, gateway=RefusingGateway())
    assert app.state.usage_group.parallel == 1
    db.dispose()
