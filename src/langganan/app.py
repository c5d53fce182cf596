"""The FastAPI application: API under /v1, the customer portal under /portal, the console under /console."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.types import ASGIApp

from langganan import __version__, scrape
from langganan.accounts.endpoints import router as accounts_router
from langganan.apikeys import service as apikeys
from langganan.apikeys.gate import ApiKeyGate
from langganan.catalog import service as catalog_service
from langganan.catalog.endpoints import router as catalog_router
from langganan.config import LIVE_NEEDS_GATEWAY, ConfigError, Settings
from langganan.console.pages import router as console_router
from langganan.console.pages_accounts import router as console_accounts_router
from langganan.console.pages_api_keys import router as console_api_keys_router
from langganan.console.pages_audit import router as console_audit_router
from langganan.console.pages_clock import router as console_clock_router
from langganan.console.pages_credit_notes import router as console_credit_notes_router
from langganan.console.pages_emails import router as console_emails_router
from langganan.console.pages_finance import router as console_finance_router
from langganan.console.pages_promotions import router as console_promotions_router
from langganan.console.pages_staff import router as console_staff_router
from langganan.console.pages_statements import router as console_statements_router
from langganan.console.pages_tax import router as console_tax_router
from langganan.console.pages_unapplied import router as console_unapplied_router
from langganan.console.pages_webhooks import router as console_webhooks_router
from langganan.due import DueReport, run_due
from langganan.entitlements.endpoints import router as entitlements_router
from langganan.events.endpoints import router as events_router
from langganan.exports.endpoints import router as exports_router
from langganan.history.upkeep import Upkeep
from langganan.kit import migrate
from langganan.kit.bodylimit import BodyLimitMiddleware
from langganan.kit.clock import Clock, DatabaseClock, WallClock, wall_now
from langganan.kit.db import DEFAULT_BACKGROUND_WAIT, DEFAULT_LOCK_WAIT, Database, is_transient
from langganan.kit.idempotency import IdempotencyMiddleware, purge_expired
from langganan.kit.migrate import is_empty, upgrade
from langganan.kit.models import EngineClock
from langganan.kit.nul import RefuseNulMiddleware
from langganan.kit.openapi import RETRY_AFTER, ErrorResponse, describe_errors, operation_id
from langganan.kit.secrets import stored_secret
from langganan.kit.web import install_error_handlers
from langganan.kit.work import Steps
from langganan.legacy.endpoints import router as legacy_router
from langganan.notifications import alerts
from langganan.notifications.delivery import Courier
from langganan.notifications.endpoints import router as notifications_router
from langganan.notifications.endpoints_webhooks import router as webhook_deliveries_router
from langganan.notifications.mailer import make_mailer
from langganan.notifications.worker import NotifyReport, run_notifications
from langganan.onboarding.endpoints import router as onboarding_router
from langganan.operators.endpoints_api_keys import router as api_keys_router
from langganan.operators.endpoints_audit import router as audit_router
from langganan.payments.endpoints import router as payments_router
from langganan.payments.endpoints_auto_top_up import router as auto_top_up_router
from langganan.payments.endpoints_invoices import router as invoices_router
from langganan.payments.endpoints_unapplied import router as unapplied_router
from langganan.payments.gateway import Gateway
from langganan.payments.midtrans import MidtransGateway
from langganan.payments.sandbox import SandboxGateway
from langganan.payments.xendit import XenditGateway
from langganan.portal.email_links import EmailLinks
from langganan.portal.endpoints import router as portal_api_router
from langganan.portal.pages import router as portal_router
from langganan.portal.pages_cards import router as portal_cards_router
from langganan.portal.pages_email_links import router as portal_email_links_router
from langganan.portal.pages_money import router as portal_money_router
from langganan.promotions.endpoints import router as promotions_router
from langganan.purchases.endpoints import router as purchases_router
from langganan.reports.endpoints import router as reports_router
from langganan.sandbox.endpoints import router as sandbox_router
from langganan.statements.endpoints import router as statements_router
from langganan.subscriptions.endpoints import router as subscriptions_router
from langganan.subscriptions.endpoints_addons import router as addons_router
from langganan.subscriptions.endpoints_promotions import router as redemptions_router
from langganan.subscriptions.schedule import Policy
from langganan.subscriptions.timeline import keep_next_due
from langganan.tax.endpoints import invoice_router as tax_invoice_router
from langganan.tax.endpoints import router as tax_router
from langganan.usage.endpoints import grouped_ingest
from langganan.usage.endpoints import router as usage_router
from langganan.usage.endpoints_reservations import router as reservations_router
from langganan.usage.fastlane import UsageFastLane
from langganan.wallets.endpoints import router as wallets_router
from langganan.web.access import AccessLayer, Templates
from langganan.web.context import AdminKey, AppContext
from langganan.web.errors import install_page_errors
from langganan.webhooks.endpoints import router as webhooks_router

log = logging.getLogger("langganan")

# How long the event loop's thread may keep the GIL while another thread waits for it (Python's default
# is 5 ms). A usage group's thread holds wallet locks across its database round trips and needs the GIL
# back after each; behind a busy event loop it waited up to 5 ms every time (PostgreSQL, 2 workers:
# 2.000 -> 2.600 single events/s, hot wallet 1.900 -> 3.000).
GIL_SWITCH_SECONDS = 0.001


SANDBOX_SECRET = "sandbox_gateway"  # the name of the generated secret (kit/secrets.py)


def body_limits(settings: Settings) -> dict[str, int]:
    """The routes whose bodies may be larger than LANGGANAN_MAX_BODY_BYTES, and how large."""
    return {"/v1/usage/batch": settings.max_body_bytes_usage_batch,
            "/v1/legacy-imports": settings.max_body_bytes_import,
            "/v1/bank-statements": settings.max_body_bytes_import,
            "/console/statements": settings.max_body_bytes_import}


class LanggananAPI(FastAPI):
    """The application. Outermost, the access layer (web/access.py): the request id, the HTTP metrics and
    the access log line of every request, those answered by the layers behind it included. Then the request
    body limit (kit/bodylimit.py): nothing behind it ever holds more of a body than its route's limit. Then
    the usage fast lane (usage/fastlane.py), in front of the whole middleware stack: the hottest requests
    skip the framework's error and telemetry layers, the API key gate and the NUL and idempotency
    middlewares (the lane looks the key up as the gate does, applies the NUL rule itself and leaves
    idempotent requests to the stack). Each layer cost a few per cent of a single event's CPU (the access
    layer's line replaces uvicorn's own access log)."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.ctx.settings
        lane = UsageFastLane(super().build_middleware_stack(), self.state.usage_group, self.state.ctx.db)
        limited = BodyLimitMiddleware(lane, default=settings.max_body_bytes, routes=body_limits(settings))
        return AccessLayer(limited, Templates(self.router.routes))

    _described: dict[str, Any] | None = None

    def openapi(self) -> dict[str, Any]:
        """The generated document with every operation's error answers (kit/openapi.py)."""
        schema = super().openapi()  # FastAPI's cached document, made again when the routes change
        if schema is not self._described:
            self._described = describe_errors(schema)
        return schema


def check_gateway(settings: Settings) -> None:
    """ConfigError when the configured gateway cannot run here: the sandbox one in live mode (a real gateway's
    missing keys are refused by Settings itself). Checked before a command touches the database."""
    if settings.gateway == "sandbox" and not settings.sandbox:
        raise ConfigError(LIVE_NEEDS_GATEWAY)


def make_gateway(settings: Settings, db: Database) -> Gateway:
    """The gateway LANGGANAN_GATEWAY names, with its keys and API base URL. The sandbox one (sandbox mode
    only) signs with LANGGANAN_SANDBOX_GATEWAY_SECRET, or else with a secret generated once and kept in the
    database."""
    check_gateway(settings)
    if settings.gateway == "midtrans":
        assert settings.midtrans_server_key is not None  # Settings refuses midtrans without its keys
        return MidtransGateway(settings.midtrans_server_key, settings.midtrans_base_url,
                               client_key=settings.midtrans_client_key, timeout=settings.gateway_timeout_seconds)
    if settings.gateway == "xendit":
        assert settings.xendit_secret_key is not None and settings.xendit_callback_token is not None
        return XenditGateway(settings.xendit_secret_key, settings.xendit_callback_token, settings.xendit_base_url,
                             timeout=settings.gateway_timeout_seconds)
    return SandboxGateway(settings.sandbox_gateway_secret or stored_secret(db, SANDBOX_SECRET))


def make_database(settings: Settings) -> Database:
    """The configured database: requests wait `lock_wait_seconds` for a lock, background work
    `worker_lock_wait_seconds`."""
    return open_database(settings.database_url, settings, lock_wait=settings.lock_wait_seconds,
                         background_wait=settings.worker_lock_wait_seconds)


def open_database(url: str, settings: Settings | None = None, *, lock_wait: float = DEFAULT_LOCK_WAIT,
                  background_wait: float = DEFAULT_BACKGROUND_WAIT) -> Database:
    """The database at `url` whose units of work follow `settings` (default: the defaults): they keep
    each subscription's `next_due_at` by its schedule policy and decide usage alerts with its
    low-balance thresholds before they commit (`work_steps`)."""
    return Database(url, steps=work_steps(settings or Settings()), lock_wait=lock_wait,
                    background_wait=background_wait)


def work_steps(settings: Settings) -> Steps:
    """What every unit of work of the domain does besides its callers' writes (kit.work.Steps)."""
    return Steps(before_flush=(keep_next_due(Policy.from_settings(settings)),),
                 before_commit=(alerts.on_commit(dict(settings.low_balance_thresholds)),),
                 made_from=_steps_source(settings))


def _steps_source(settings: Settings) -> tuple[object, ...]:
    """The settings the units of work depend on: two configurations with equal sources agree on them."""
    return Policy.from_settings(settings), tuple(sorted(settings.low_balance_thresholds.items()))


def make_clock(settings: Settings) -> Clock:
    return DatabaseClock() if settings.sandbox else WallClock()


def make_courier(settings: Settings) -> Courier:
    return Courier(mailer=make_mailer(settings), settings=settings, links=EmailLinks(settings.public_url))


def prepare(settings: Settings, db: Database, *, migrate_if_empty: bool = True) -> None:
    """Bring a database to a usable state: schema, catalog, clock row, bootstrap key. Idempotent.
    """
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
        self.upkeep = Upkeep()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop between batches: the batch in hand is finished (for at most the shutdown grace)."""
        self._stop.set()
        self._thread.join(timeout=self.ctx.settings.shutdown_grace_seconds)

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.worker_interval_seconds):
            try:
                log_work(run_due(self.ctx, self._stop.is_set),
                         run_notifications(self.ctx.db, self.ctx.courier, self._stop.is_set))
                purge_expired(self.ctx.db)
                self.upkeep.run(self.ctx.db, self.ctx.settings, wall_now())
            except Exception as exc:  # keep the worker alive; the next tick retries
                if is_transient(exc):
                    log.warning("due work stopped, the database is busy or unreachable (retried next tick): %s", exc)
                else:
                    log.exception("due work failed")


def log_work(due: DueReport, sent: NotifyReport) -> None:
    """One log line for a round of background work that did something."""
    d = sent.delivered
    if due.total or sent.dispatched or d.total:
        steps = ", ".join(f"{kind} {n}" for kind, n in sorted(due.steps.items()))
        log.info("due work: expired %d invoices, charged %d cards%s; dispatched %d events; sent %d, retrying %d, "
                 "failed %d", due.invoices_expired, due.charges, f"; {steps}" if steps else "", sent.dispatched,
                 d.succeeded, d.retrying, d.failed,
                 extra={"invoices_expired": due.invoices_expired, "charges": due.charges, "steps": dict(due.steps),
                        "events_dispatched": sent.dispatched, "deliveries_succeeded": d.succeeded,
                        "deliveries_retrying": d.retrying, "deliveries_failed": d.failed})


def make_context(settings: Settings, db: Database, *, gateway: Gateway | None = None) -> AppContext:
    """Everything a request, a job or a CLI command works with, built from the configuration; `gateway`
    replaces the configured one (tests). ConfigError when live mode would get the sandbox gateway."""
    if db.steps.made_from != _steps_source(settings):
        # Its units of work would keep next_due_at by another policy, or alert at other thresholds.
        raise ValueError("the database was opened with other settings than the application's: open it with "
                         "langganan.app.open_database(url, settings) or make_database(settings)")
    gateway = gateway or make_gateway(settings, db)
    if not settings.sandbox and isinstance(gateway, SandboxGateway):
        raise ConfigError(LIVE_NEEDS_GATEWAY)
    return AppContext(settings=settings, db=db, clock=make_clock(settings), gateway=gateway,
                      courier=make_courier(settings))


# Swagger UI and ReDoc as langganan serves them: their scripts and styles are vendored under static/vendor/
# (static/vendor/README.md: the npm packages, versions, licenses and checksums), so /docs and /redoc work with
# no network and load nothing from another origin; the pages' policy (CSP) refuses anything else.
DOCS_ASSETS = "/static/vendor"
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")


def install_docs(app: FastAPI) -> None:
    """GET /docs (Swagger UI) and /redoc (ReDoc) over /openapi.json, from langganan's own static files."""
    openapi_url = app.openapi_url or "/openapi.json"

    def page(html: HTMLResponse) -> HTMLResponse:
        html.headers["Content-Security-Policy"] = DOCS_POLICY
        html.headers["X-Content-Type-Options"] = "nosniff"
        return html

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return page(get_swagger_ui_html(
            openapi_url=openapi_url, title="langganan API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None}))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return page(get_redoc_html(openapi_url=openapi_url, title="langganan API",
                                   redoc_js_url=f"{DOCS_ASSETS}/redoc/redoc.standalone.js",
                                   redoc_favicon_url=f"{DOCS_ASSETS}/swagger-ui/favicon-32x32.png",
                                   with_google_fonts=False))


READYZ_503 = ("Not ready: the database does not answer (`database_unreachable`), or its migrations are not "
              "this version's (`migrations_not_current`, naming the `current` and `head` revisions: run "
              "`langganan migrate`).")
READY_RETRY_SECONDS = 5


def readiness(db: Database, heads: frozenset[str]) -> dict[str, Any] | JSONResponse:
    """200 {status: ready, revision} when the database answers and is migrated to `heads`; else 503 in the
    error shape, saying which (what went wrong with the connection is logged, not answered)."""
    try:
        with db.engine.connect() as connection:
            current = migrate.current(connection)
    except Exception as exc:
        log.warning("not ready: the database does not answer: %s", str(exc).splitlines()[0] if str(exc) else
                    type(exc).__name__)
        return _not_ready("database_unreachable", "The database does not answer.")
    if current != heads:
        at, wanted = ", ".join(sorted(current)) or "none", ", ".join(sorted(heads))
        return _not_ready("migrations_not_current", f"The database is at revision {at}; this version needs "
                          f"{wanted}: run `langganan migrate`.", current=sorted(current), head=sorted(heads))
    return {"status": "ready", "revision": ", ".join(sorted(current)), "version": __version__}


def _not_ready(code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=503, headers={"Retry-After": str(READY_RETRY_SECONDS)},
                        content={"error": {"type": "api_error", "code": code, "message": message, "param": None,
                                           **extra}})


def routers(settings: Settings) -> list[APIRouter]:
    """The modules' routers the app serves, in order; the sandbox's only in sandbox mode."""
    found = [catalog_router, accounts_router, onboarding_router, subscriptions_router, invoices_router,
             payments_router, events_router, wallets_router, reservations_router, usage_router,
             entitlements_router, addons_router, purchases_router, notifications_router, webhooks_router,
             webhook_deliveries_router, promotions_router, redemptions_router, portal_api_router, legacy_router,
             portal_router, portal_money_router, portal_cards_router, exports_router, reports_router,
             statements_router, tax_router, tax_invoice_router, unapplied_router, auto_top_up_router,
             api_keys_router, audit_router, console_router, console_promotions_router, console_webhooks_router,
             console_statements_router, console_finance_router, console_unapplied_router, console_tax_router,
             console_credit_notes_router, console_accounts_router, portal_email_links_router,
             console_api_keys_router, console_audit_router, console_staff_router]
    if settings.sandbox:
        found += [sandbox_router, console_clock_router, console_emails_router]
    return found


def create_app(settings: Settings, db: Database | None = None, *, run_worker: bool = False,
               gateway: Gateway | None = None) -> FastAPI:
    """The application. In live mode the sandbox gateway's routes (`/v1/sandbox/*`) and the console's clock
    page are not mounted at all. /metrics needs an admin key, or is absent when LANGGANAN_METRICS_ADDRESS
    gives it a listener of its own (`serve` and `worker` start it: metrics.Listener)."""
    db = db or make_database(settings)
    ctx = make_context(settings, db, gateway=gateway)

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
        ctx.gateway.close()

    app = LanggananAPI(title="langganan", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                       description="Prepaid subscription billing and entitlement engine. Amounts are integers in "
                                   "the currency's minor unit (IDR: whole rupiah).",
                       generate_unique_id_function=operation_id)
    app.state.ctx = ctx
    app.state.usage_group = grouped_ingest(ctx)
    install_error_handlers(app)
    # The routes as their modules built them, once per process. `include_router` would build every route
    # again for each app (FastAPI resolves each parameter's and model's validator per inclusion, lazily, on
    # the first requests that pass the route): a quarter to half a second per app, paid by every test's app. So the
    # modules' routers carry what an inclusion would add (kit.openapi.api_router), and the app's
    # dependency_overrides do not reach these routes.
    app.router.routes.extend(route for router in routers(settings) for route in router.routes)
    install_page_errors(app)
    app.mount("/static", StaticFiles(packages=[("langganan", "static")]), name="static")
    install_docs(app)
    app.add_middleware(IdempotencyMiddleware, db=db)
    app.add_middleware(RefuseNulMiddleware)  # runs before idempotency records anything
    app.add_middleware(ApiKeyGate, db=db)  # outermost: 401 before anything reads a body

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        with db.sessions() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "mode": settings.mode}

    heads = migrate.heads()

    @app.get("/readyz", tags=["operations"],
             responses={503: {"model": ErrorResponse, "description": READYZ_503, "headers": RETRY_AFTER}},
             summary="Ready to serve: the database answers and its migrations are this version's")
    def readyz() -> Any:
        return readiness(db, heads)

    if settings.metrics_address is None:
        registry = scrape.registry(db, ctx.clock)

        @app.get("/metrics", response_class=Response, tags=["operations"],
                 responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
                 summary="Prometheus metrics (admin key; absent when LANGGANAN_METRICS_ADDRESS is set)")
        def prometheus_metrics(_: AdminKey) -> Response:
            return Response(scrape.exposition(registry), media_type=CONTENT_TYPE_LATEST)

    return app
