"""The FastAPI application: API under /v1, the customer portal under /portal, the console under /console."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select, text
from starlette.types import ASGIApp

from langganan import __version__
from langganan.accounts.endpoints import router as accounts_router
from langganan.addons.endpoints import router as addons_router
from langganan.apikeys import service as apikeys
from langganan.catalog import service as catalog_service
from langganan.catalog.endpoints import router as catalog_router
from langganan.config import Settings
from langganan.console.pages import router as console_router
from langganan.console.pages_promotions import router as console_promotions_router
from langganan.console.pages_webhooks import router as console_webhooks_router
from langganan.due import run_due
from langganan.entitlements.endpoints import router as entitlements_router
from langganan.events.endpoints import router as events_router
from langganan.invoices.endpoints import router as invoices_router
from langganan.invoices.models import Invoice
from langganan.kit.clock import Clock, DatabaseClock, WallClock, wall_now
from langganan.kit.db import Database, is_transient
from langganan.kit.idempotency import IdempotencyMiddleware, purge_expired
from langganan.kit.migrate import is_empty, upgrade
from langganan.kit.models import EngineClock
from langganan.kit.nul import RefuseNulMiddleware
from langganan.kit.web import AppContext, install_error_handlers
from langganan.legacy.endpoints import router as legacy_router
from langganan.notifications import alerts
from langganan.notifications.delivery import Courier
from langganan.notifications.endpoints import router as notifications_router
from langganan.notifications.mailer import make_mailer
from langganan.notifications.worker import run_notifications
from langganan.payments.endpoints import router as payments_router
from langganan.payments.gateway import Gateway
from langganan.payments.sandbox import SandboxGateway
from langganan.portal.endpoints import router as portal_api_router
from langganan.portal.pages import router as portal_router
from langganan.portal.pages_money import router as portal_money_router
from langganan.promotions.endpoints import router as promotions_router
from langganan.sandbox.endpoints import router as sandbox_router
from langganan.subscriptions.endpoints import router as subscriptions_router
from langganan.subscriptions.timeline import configure_sessions
from langganan.usage.endpoints import grouped_ingest
from langganan.usage.endpoints import router as usage_router
from langganan.usage.fastlane import UsageFastLane
from langganan.wallets.endpoints import router as wallets_router
from langganan.web.errors import install_page_errors
from langganan.webhooks.endpoints import router as webhooks_router

log = logging.getLogger("langganan")

# How long the event loop's thread may keep the GIL while another thread waits for it (Python's default
# is 5 ms). A usage group's thread holds wallet locks across its database round trips and needs the GIL
# back after each; behind a busy event loop it waited up to 5 ms every time (PostgreSQL, 2 workers:
# 2.000 -> 2.600 single events/s, hot wallet 1.900 -> 3.000).
GIL_SWITCH_SECONDS = 0.001


class LanggananAPI(FastAPI):
    """The application, with the usage fast lane (usage/fastlane.py) in front of its whole middleware
    stack: the hottest requests skip the framework's error, telemetry and body-limit layers and the NUL
    and idempotency middlewares (the lane applies the NUL rule itself and leaves idempotent requests to
    the stack). Each layer cost a few per cent of a single event's CPU."""

    def build_middleware_stack(self) -> ASGIApp:
        return UsageFastLane(super().build_middleware_stack(), self.state.usage_group)


def make_gateway(settings: Settings) -> Gateway:
    if settings.gateway == "sandbox":
        return SandboxGateway(settings.sandbox_gateway_secret)
    raise ValueError(f"unknown gateway {settings.gateway!r}")


def make_database(settings: Settings) -> Database:
    """The configured database: requests wait `lock_wait_seconds` for a lock, background work
    `worker_lock_wait_seconds`."""
    return Database(settings.database_url, lock_wait=settings.lock_wait_seconds,
                    background_wait=settings.worker_lock_wait_seconds)


def make_clock(settings: Settings) -> Clock:
    return DatabaseClock() if settings.sandbox else WallClock()


def make_courier(settings: Settings) -> Courier:
    return Courier(mailer=make_mailer(settings), settings=settings)


def configure(settings: Settings, db: Database) -> None:
    """The one place the configuration reaches the domain: the schedule policy of the database's
    sessions and the process's default low-balance thresholds. Idempotent."""
    configure_sessions(db, settings)
    alerts.configure(settings)


def prepare(settings: Settings, db: Database, *, migrate_if_empty: bool = True) -> None:
    """Bring a database to a usable state: schema, catalog, clock row, bootstrap key. Idempotent.
    Configures the database's sessions too: what a caller writes right after it (the demo, a bench's
    seed), before any context is built, follows the settings."""
    configure(settings, db)
    if migrate_if_empty and is_empty(db.engine):
        upgrade(db.url)
    with db.transaction() as s:
        if s.get(EngineClock, 1) is None:
            frozen = settings.clock_start if settings.sandbox else None
            s.add(EngineClock(id=1, offset_seconds=0, frozen_at=frozen))
        if catalog_service.repository.latest_id(s) is None:
            catalog_service.apply(s, catalog_service.load_file(catalog_service.default_catalog_path()), wall_now())
        if settings.bootstrap_api_key:
            apikeys.ensure_bootstrap(s, settings.bootstrap_api_key, wall_now())


class Worker:
    """The in-process worker of `serve`: runs due work every few seconds until stopped."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx.background()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="langganan-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.worker_interval_seconds):
            try:
                run_due(self.ctx)
                run_notifications(self.ctx.db, self.ctx.courier)
                purge_expired(self.ctx.db)
            except Exception as exc:  # keep the worker alive; the next tick retries
                if is_transient(exc):
                    log.warning("due work stopped, the database is busy or unreachable (retried next tick): %s", exc)
                else:
                    log.exception("due work failed")


def make_context(settings: Settings, db: Database) -> AppContext:
    """Everything a request, a job or a CLI command works with, built from the configuration."""
    configure(settings, db)
    return AppContext(settings=settings, db=db, clock=make_clock(settings), gateway=make_gateway(settings),
                      courier=make_courier(settings))


def create_app(settings: Settings, db: Database | None = None, *, run_worker: bool = False) -> FastAPI:
    db = db or make_database(settings)
    ctx = make_context(settings, db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = Worker(ctx) if run_worker else None
        if worker:
            worker.start()
        previous = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        try:
            yield
        finally:
            sys.setswitchinterval(previous)
        if worker:
            worker.stop()
        ctx.courier.close()

    app = LanggananAPI(title="langganan", version=__version__, lifespan=lifespan,
                  description="Prepaid subscription billing and entitlement engine. Amounts are integers in "
                              "the currency's minor unit (IDR: whole rupiah).")
    app.state.ctx = ctx
    app.state.usage_group = grouped_ingest(ctx)
    install_error_handlers(app)
    for router in (catalog_router, accounts_router, subscriptions_router, invoices_router, payments_router,
                   events_router, sandbox_router, wallets_router, usage_router, entitlements_router,
                   addons_router, notifications_router, webhooks_router, promotions_router, portal_api_router,
                   legacy_router, portal_router, portal_money_router, console_router, console_promotions_router,
                   console_webhooks_router):
        app.include_router(router)
    install_page_errors(app)
    app.mount("/static", StaticFiles(packages=[("langganan", "static")]), name="static")
    app.add_middleware(IdempotencyMiddleware, db=db)
    app.add_middleware(RefuseNulMiddleware)  # outermost: runs before idempotency records anything

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        with db.sessions() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "mode": settings.mode}

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    def metrics() -> str:
        with db.sessions() as s:
            rows = s.execute(select(Invoice.status, func.count()).group_by(Invoice.status)).all()
        lines = ["# HELP langganan_invoices Invoices by status", "# TYPE langganan_invoices gauge"]
        lines += [f'langganan_invoices{{status="{status}"}} {count}' for status, count in rows]
        return "\n".join(lines) + "\n"

    return app
