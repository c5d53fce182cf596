"""The langganan command line: serve, migrate, catalog, API keys, the sandbox clock, the worker."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from langganan.config import ConfigError, Settings
from langganan.i18n_cli import i18n_app
from langganan.kit.db import Database, is_transient
from langganan.kit.fields import in_range
from langganan.kit.stopping import exit_zero_after, stop_on_signals

if TYPE_CHECKING:
    from langganan.audit.service import Actor
    from langganan.legacy.service import RowResult
    from langganan.web.context import AppContext

app = typer.Typer(help="langganan — prepaid subscription billing and entitlements.", no_args_is_help=True)
catalog_app = typer.Typer(help="The versioned catalog file.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored hashed).", no_args_is_help=True)
clock_app = typer.Typer(help="The engine clock (sandbox mode).", no_args_is_help=True)
staff_app = typer.Typer(help="Operator console users (passwords stored as scrypt hashes).", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(keys_app, name="api-keys")
app.add_typer(clock_app, name="clock")
app.add_typer(staff_app, name="staff")
app.add_typer(i18n_app, name="i18n")
console = Console()
CLI_LOCALE = "id"  # the command line has no language setting: amounts as the rupiah's own country writes them
log = logging.getLogger("langganan.worker")


@contextmanager
def _configuration() -> Iterator[None]:
    """A LANGGANAN_* variable that cannot be used (read, or found out while building what it names) ends the
    command with one line naming it, exit 2."""
    try:
        yield
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from exc


def _settings() -> Settings:
    with _configuration():
        return Settings.from_env()


def _setup() -> tuple[Settings, Database]:
    from langganan.app import check_gateway, make_database, prepare

    settings = _settings()
    with _configuration():
        check_gateway(settings)  # before the database is touched
    db = make_database(settings)
    prepare(settings, db)
    return settings, db


def _cli_actor() -> Actor:
    """Who acts in the audit log when a command changes something: the command line, as this OS user."""
    import getpass

    from langganan.audit.models import ActorKind
    from langganan.audit.service import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(ActorKind.SYSTEM, "cli", f"cli ({user})")


def _context() -> AppContext:
    from langganan.app import make_context

    settings, db = _setup()
    with _configuration():
        return make_context(settings, db)


@app.command()
def migrate() -> None:
    """Apply the database migrations (Alembic) up to the newest."""
    from langganan.kit.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print(f"[green]migrated[/green] {settings.database_url}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port")] = 8000,
          demo: Annotated[bool, typer.Option(help="Load demo accounts and print a ready API key")] = False,
          worker: Annotated[bool, typer.Option(help="Run due work in-process")] = True) -> None:
    """Run the API (and the in-process worker) in one process; migrates an empty database. Logs one line per
    request and event on standard error: JSON, or text with --demo (LANGGANAN_LOG_FORMAT decides when set)."""
    import uvicorn

    from langganan import logs, scrape
    from langganan.app import create_app, make_clock

    settings, db = _setup()
    with _configuration():
        web_app = create_app(settings, db, run_worker=worker)
        listener = scrape.Listener(settings.metrics_address, scrape.registry(db, make_clock(settings))) \
            if settings.metrics_address else None
    text = demo and "log_format" not in settings.model_fields_set  # (the demo is read by a person)
    logs.configure("text" if text else settings.log_format, settings.log_level)
    if demo:
        from langganan.demo import load_demo

        info = load_demo(settings, db)
        base = f"http://{host}:{port}"
        console.rule("[bold]langganan demo")
        console.print(f"API key (admin):   [bold]{info['api_key']}[/bold]")
        console.print(f"API docs:          {base}/docs")
        console.print(f"Console:           {base}/console  (sign in as {info['staff_email']} / "
                      f"{info['staff_password']})", soft_wrap=True)
        console.print(f"Try:               curl -H 'Authorization: Bearer {info['api_key']}' {base}/v1/plans",
                      soft_wrap=True)
        table = Table("account", "plan", "status", "id")
        for row in info["accounts"]:
            table.add_row(row["name"], row["plan"], row["status"], row["id"])
        console.print(table)
        from langganan.accounts import repository as accounts_repo
        from langganan.kit.clock import wall_now
        from langganan.portal import service as portal

        with db.transaction() as s:
            for row in info["accounts"]:
                _link, token = portal.create_link(s, accounts_repo.get(s, row["id"]), wall_now())
                console.print(f"Portal ({row['name']}): {base}/portal/session/{token}", soft_wrap=True)
    try:
        # SIGTERM: uvicorn stops accepting, waits for the requests in flight (at most the grace), then the app's
        # shutdown stops the in-process worker between batches; then the process exits 0. (uvicorn's own logging
        # configuration and access log are off: logs.configure and web/access.py)
        with exit_zero_after(signal.SIGTERM):
            uvicorn.run(web_app, host=host, port=port, log_level=settings.log_level, log_config=None,
                        access_log=False, timeout_graceful_shutdown=settings.shutdown_grace_seconds)
    finally:
        if listener is not None:
            listener.close()


@app.command("worker")
def worker_cmd(once: Annotated[bool, typer.Option(help="Run what is due once and exit")] = False) -> None:
    """Run due work (renewals, expiries, period ends); any number may run on one PostgreSQL. Serves /metrics
    on LANGGANAN_METRICS_ADDRESS when it is set. Logs what each round did on standard error
    (LANGGANAN_LOG_FORMAT)."""
    from langganan import logs, scrape

    ctx = _context().background()
    with _configuration():
        address = None if once else ctx.settings.metrics_address
        listener = scrape.Listener(address, scrape.registry(ctx.db, ctx.clock)) if address else None
    logs.configure(ctx.settings.log_format, ctx.settings.log_level)
    stop = threading.Event()
    try:
        with stop_on_signals(stop):  # SIGTERM or Ctrl-C: the batch in hand is finished, then the worker exits
            _work(ctx, once, stop)
    finally:
        if listener is not None:
            listener.close()
    if stop.is_set():
        console.print("stopped: the batch in hand was finished")


def _work(ctx: AppContext, once: bool, stop: threading.Event) -> None:
    """Run due work, notifications and upkeep every LANGGANAN_WORKER_INTERVAL_SECONDS until `stop` is set. A database
    that is busy or unreachable for a while is waited out: what failed is rolled back and done again next time
    (with --once the command ends instead, exit 1)."""
    from langganan.app import log_work
    from langganan.due import run_due
    from langganan.history.upkeep import Upkeep
    from langganan.kit.clock import wall_now
    from langganan.kit.idempotency import purge_expired
    from langganan.notifications.worker import run_notifications

    upkeep = Upkeep()  # partitions created ahead (PostgreSQL, hourly); LANGGANAN_ARCHIVE_DIR: archive daily
    while not stop.is_set():
        try:
            log_work(run_due(ctx, stop.is_set), run_notifications(ctx.db, ctx.courier, stop.is_set))
            purge_expired(ctx.db)  # idempotency records past their 48 hours (as `serve`'s in-process worker does)
            upkeep.run(ctx.db, ctx.settings, wall_now())
        except Exception as exc:
            if once or not is_transient(exc):
                raise
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("the database was busy or unreachable (%s); what failed was rolled back and is tried "
                        "again in %g s", detail, ctx.settings.worker_interval_seconds)
        if once:
            return
        stop.wait(ctx.settings.worker_interval_seconds)


@catalog_app.command("apply")
def catalog_apply(path: Annotated[Path | None, typer.Argument(help="catalog TOML (default: the packaged one)")]
                  = None) -> None:
    """Store the catalog file as a new version if it changed."""
    from langganan.catalog import service
    from langganan.catalog.rules import CatalogInvalid
    from langganan.kit.clock import wall_now

    _settings, db = _setup()
    try:
        content = service.load_file(path or service.default_catalog_path())
        with db.transaction() as s:
            row, created = service.apply(s, content, wall_now())
    except CatalogInvalid as exc:
        console.print(f"[red]catalog invalid:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"catalog version {row.version} " + ("[green]applied[/green]" if created else "already applied"))


@catalog_app.command("show")
def catalog_show() -> None:
    """Print the current catalog's plans."""
    from langganan.catalog import service
    from langganan.catalog.rules import WalletKind
    from langganan.kit.money import format_money

    _settings, db = _setup()
    with db.transaction() as s:
        c = service.current(s)
    table = Table("plan", "rank", "monthly", "yearly", "users", "contacts", "broadcasts/mo", "credit",
                  title=f"catalog v{c.version}")
    for p in c.plans_by_rank():
        table.add_row(p.name, str(p.rank), format_money(p.prices["month"], c.currency, CLI_LOCALE),
                      format_money(p.prices["year"], c.currency, CLI_LOCALE), str(p.limits["users"]),
                      str(p.limits["contacts"]), str(p.limits["broadcasts_per_month"]),
                      format_money(p.included_credit.get(WalletKind.CONVERSATION, 0), c.currency, CLI_LOCALE))
    console.print(table)


@keys_app.command("create")
def keys_create(role: Annotated[str, typer.Option(help="admin or integration")] = "integration",
                name: Annotated[str, typer.Option(help="A label for the key")] = "cli") -> None:
    """Create an API key; the key is shown once and stored hashed."""
    from langganan.apikeys import service
    from langganan.app import make_clock
    from langganan.kit.clock import wall_now
    from langganan.kit.errors import DomainError

    settings, db = _setup()
    try:
        with db.transaction() as s:
            key, token = service.create(s, role=role, name=name, now=wall_now(), by=_cli_actor(),
                                        logged_at=make_clock(settings).now(s))
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{key.role} key {key.id}: [bold]{token}[/bold]")


@keys_app.command("list")
def keys_list() -> None:
    """The API keys, newest first: name, role, the token's first characters, last use and state (never a token)."""
    from langganan.apikeys import repository, service
    from langganan.kit.clock import wall_now

    _settings, db = _setup()
    table = Table("id", "name", "role", "prefix", "created", "last used", "state")
    now = wall_now()
    with db.transaction() as s:
        after = None
        while True:
            rows, more = repository.list_keys(s, 100, after)
            for k in rows:
                state = (f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else
                         f"{'expires' if service.usable(k, now) else 'expired'} {k.expires_at:%Y-%m-%d %H:%M}"
                         if k.expires_at else "active")
                table.add_row(k.id, escape(k.name), k.role, k.prefix + "…", f"{k.created_at:%Y-%m-%d %H:%M}",
                              f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never", state)
            if not more:
                break
            after = rows[-1].id
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_...), from `api-keys list`")]) -> None:
    """Revoke an API key: refused from the next request on, in every process."""
    from langganan.apikeys import service
    from langganan.app import make_clock
    from langganan.kit.clock import wall_now
    from langganan.kit.errors import DomainError

    settings, db = _setup()
    try:
        with db.transaction() as s:
            key = service.revoke(s, key_id, by=_cli_actor(), now=wall_now(), logged_at=make_clock(settings).now(s))
            name, revoked_at = key.name, key.revoked_at
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"key {key_id} ({escape(name)}) revoked at {revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@clock_app.command("show")
def clock_show() -> None:
    """Print the engine clock."""
    from langganan.app import make_clock

    settings, db = _setup()
    with db.transaction() as s:
        console.print(make_clock(settings).now(s).isoformat())


@clock_app.command("advance")
def clock_advance(days: Annotated[int, typer.Option(min=0)] = 0, hours: Annotated[int, typer.Option(min=0)] = 0,
                  to: Annotated[str | None, typer.Option(help="RFC 3339 instant")] = None) -> None:
    """Move the sandbox engine clock forward and run everything that falls due."""
    from langganan.kit.clock import DatabaseClock
    from langganan.kit.errors import DomainError
    from langganan.sandbox.clock import advance

    target = _instant_option("--to", to) if to is not None else None
    ctx = _context()
    if not isinstance(ctx.clock, DatabaseClock):
        console.print("[red]the clock can only be advanced in sandbox mode[/red]")
        raise typer.Exit(2)
    try:
        done = advance(ctx.background(), days=days, hours=hours, to=target, by=_cli_actor())
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    finally:
        ctx.courier.close()
    console.print(json.dumps({"now": done.now.isoformat(), "invoices_expired": done.invoices_expired,
                              "periods_rolled": done.periods_rolled}))


def _instant_option(option: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not in_range(value):
        console.print(f"[red]{option} {text!r} is not an RFC 3339 instant with a UTC offset (from 0001-01-02 to "
                      "9999-12-30 in UTC), e.g. 2026-02-01T00:00:00+07:00[/red]", soft_wrap=True)
        raise typer.Exit(2)
    return value


@staff_app.command("create")
def staff_create(email: Annotated[str, typer.Option(help="Sign-in email")],
                 name: Annotated[str, typer.Option(help="Display name")] = "",
                 role: Annotated[str, typer.Option(help="owner, finance, support or read_only")] = "owner",
                 password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                                       envvar="LANGGANAN_STAFF_PASSWORD",
                                                       help="At least 10 characters (prompted when omitted)")]
                 = "") -> None:
    """Create a console user who signs in at /console/login."""
    from langganan.console import service
    from langganan.kit.clock import wall_now
    from langganan.kit.errors import DomainError

    _settings, db = _setup()
    try:
        with db.transaction() as s:
            user = service.create_staff(s, email, name, password, wall_now(), role=role)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"staff user {user.id} [bold]{user.email}[/bold] ({user.role}) created; sign in at /console/login")


@app.command("import-legacy")
def import_legacy(path: Annotated[Path, typer.Argument(help="CSV: account_key, name, email, plan, enrolled_on, "
                                                       "last_unpaid_month[, interval, locale, timezone]",
                                                  exists=True, dir_okay=False)],
                  dry_run: Annotated[bool, typer.Option(help="Check every row and keep nothing")] = False) -> None:
    """Move legacy postpaid subscribers to prepaid billing (re-runnable: imported rows are unchanged)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from langganan.legacy import rules, runner

    try:
        rows = rules.read_csv(path.read_text(encoding="utf-8"))
    except (rules.FileInvalid, UnicodeDecodeError) as exc:
        console.print(f"[red]{path}: {getattr(exc, 'message', 'the file is not UTF-8 text')}[/red]")
        raise typer.Exit(2) from exc
    ctx = _context()
    ctx.courier.close()  # nothing is sent from here: the worker delivers account.migrated
    progress = Progress(TextColumn("[bold]importing[/bold]" if not dry_run else "[bold]checking[/bold]"),
                        BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console)
    with progress:
        task = progress.add_task("rows", total=len(rows))
        results = runner.run(ctx, rows, dry_run=dry_run, on_result=lambda _r: progress.advance(task),
                             by=_cli_actor())
    _legacy_summary(results, dry_run)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def _legacy_summary(results: list[RowResult], dry_run: bool) -> None:
    imported = "would import" if dry_run else "imported"
    table = Table("result", "rows", "lines", title="legacy import")
    for status, label in (("imported", imported), ("unchanged", "unchanged"), ("conflict", "conflict"),
                          ("failed", "failed")):
        rows = [r for r in results if r.status == status]
        lines = ", ".join(str(r.line) for r in rows[:20]) + (" …" if len(rows) > 20 else "")
        table.add_row(label, str(len(rows)), lines if status in ("conflict", "failed") else "")
    console.print(table)
    problems = [r for r in results if not r.ok]
    if problems:
        detail = Table("line", "account key", "code", "reason", title="rows not imported")
        for r in problems:
            detail.add_row(str(r.line), r.account_key or "", r.code or "", r.message or "")
        console.print(detail)
    if dry_run:
        console.print("[yellow]dry run: nothing was kept[/yellow]")


@app.command("import-statement")
def import_statement(
        path: Annotated[Path, typer.Argument(help="The bank's CSV download", exists=True, dir_okay=False)],
        format: Annotated[str, typer.Option("--format", help="bca, bca_bisnis, mandiri or generic")],
        date_column: Annotated[str | None, typer.Option(help="generic: the date's header or column number")] = None,
        description_column: Annotated[str | None, typer.Option(help="generic: the description's column")] = None,
        amount_column: Annotated[str | None, typer.Option(help="generic: the signed amount's column")] = None,
        credit_column: Annotated[str | None, typer.Option(help="generic: the column of money in")] = None,
        balance_column: Annotated[str | None, typer.Option(help="generic: the running balance's column")] = None,
        date_format: Annotated[str | None, typer.Option(help="generic: DD/MM/YYYY (default) or YYYY-MM-DD")] = None,
) -> None:
    """Import a bank statement: each credit line is matched to an invoice and its money received (re-runnable:
    lines imported before are duplicates and change nothing)."""
    from langganan.kit.errors import DomainError
    from langganan.kit.money import format_money
    from langganan.statements import service

    try:
        mapping = service.mapping_of(date_column=date_column, description_column=description_column,
                                     amount_column=amount_column, credit_column=credit_column,
                                     balance_column=balance_column, date_format=date_format) \
            if format == "generic" else None
        parsed = service.read(format, path.read_bytes(), mapping)
    except DomainError as exc:
        console.print(f"[red]{escape(str(path))}: {escape(exc.message)}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    ctx = _context()
    ctx.courier.close()  # nothing is sent from here: the worker delivers the events
    with ctx.unit() as (s, now):
        statement, rows = service.import_statement(s, parsed, filename=path.name, by=_cli_actor(), now=now)
        statement_id = statement.id
        lines = [(r.line, r.posted_on.strftime("%d/%m/%Y"), format_money(r.amount, r.currency, CLI_LOCALE), r.status,
                  r.invoice_id or "", r.outcome or "", r.description) for r in rows]
    table = Table("line", "date", "amount", "status", "invoice", "outcome", "description",
                  title=f"bank statement {statement_id}")
    for row in lines:
        table.add_row(*(escape(str(c)) for c in row))
    console.print(table)
    summary: dict[str, int] = {}
    for row in lines:
        summary[row[3]] = summary.get(row[3], 0) + 1
    console.print(", ".join(f"{status}: {n}" for status, n in sorted(summary.items())) or "no credit lines")


@app.command("import-tax-numbers")
def import_tax_numbers(path: Annotated[Path, typer.Argument(help="CSV: reference (or Referensi) and "
                                                            "tax_invoice_number (or Nomor Faktur Pajak)",
                                                       exists=True, dir_okay=False)]) -> None:
    """Record the tax invoice numbers Coretax gave (re-runnable: numbers recorded before change nothing)."""
    from langganan.kit.errors import DomainError
    from langganan.tax import numbers

    ctx = _context()
    ctx.courier.close()
    try:
        with ctx.unit() as (s, now):
            result = numbers.import_csv(s, path.read_bytes(), by="cli", now=now)
    except DomainError as exc:
        console.print(f"[red]{escape(str(path))}: {escape(exc.message)}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    for problem in result.problems:
        console.print(f"[yellow]line {problem['row']}[/yellow] {escape(str(problem['reference']))}: "
                      f"{escape(str(problem['message']))}", soft_wrap=True)
    console.print(f"recorded: {result.recorded}, replaced: {result.replaced}, unchanged: {result.unchanged}, "
                  f"problems: {len(result.problems)}")
    if result.problems:
        raise typer.Exit(1)


@app.command()
def verify(as_json: Annotated[bool, typer.Option("--json", help="One JSON document: {ok, violations}.")] = False
           ) -> None:
    """Check the books against every promise the rules make; exit 1 on any violation."""
    from langganan.verify import violations

    settings, db = _setup()
    with db.transaction() as s:
        problems = violations(s, settings)
    if as_json:
        print(json.dumps({"ok": not problems, "violations": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            console.print("[red]✗[/red] " + escape(str(problem)))
        if not problems:
            console.print("[green]✓ all invariants hold[/green]")
    if problems:
        raise typer.Exit(1)


@app.command()
def backup(path: Annotated[Path, typer.Argument(help="The file to write (never overwritten)", dir_okay=False)]) -> None:
    """Write a consistent copy of the database while the service runs: SQLite's online backup API (one
    self-contained file), or on PostgreSQL `pg_dump --format=custom` (restore it with pg_restore). Then check the
    copy with `langganan verify`."""
    from langganan.kit.backup import BackupError
    from langganan.kit.backup import backup as write_backup

    settings = _settings()
    try:
        done = write_backup(settings.database_url, path)
    except BackupError as exc:
        console.print(f"[red]backup failed:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print(f"[green]backed up[/green] {escape(done)}", soft_wrap=True)


@app.command()
def archive(out: Annotated[Path | None, typer.Option("--out", help="Directory of the archive files (keep using the "
                                                                  "same one)", file_okay=False)] = None,
            before: Annotated[str | None, typer.Option(help="Only months before this one, YYYY-MM (never past what "
                                                             "LANGGANAN_RETENTION_* allows)")] = None,
            dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only: write and remove nothing")] = False,
            export_kept: Annotated[bool, typer.Option("--export-kept", help="Also export the tables kept forever "
                                                      "(ledger, invoices, payments, audit log, events) by month, "
                                                      "removing nothing")] = False) -> None:
    """Export to gzip CSV, then remove, the history past its LANGGANAN_RETENTION_* setting (finished deliveries
    and delivery attempts, the in-app feed, console login attempts, expired sessions); one file per table and
    month in --out, in place before anything is removed. Money records and events are never removed."""
    from langganan.history.archive import ArchiveBusy
    from langganan.history.archive import archive as run_archive
    from langganan.history.retention import RULES, parse_month
    from langganan.kit.clock import wall_now

    try:
        until = parse_month(before) if before is not None else None
    except ValueError as exc:
        console.print(f"[red]--before:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if out is None and not dry_run:
        console.print("[red]--out DIR is required[/red] (or --dry-run)")
        raise typer.Exit(2)
    settings, db = _setup()
    try:
        lines = run_archive(db, settings, wall_now(), out, before=until, dry_run=dry_run, export_kept=export_kept)
    except ArchiveBusy as busy:
        console.print(f"[red]not archived:[/red] {escape(str(busy))}; nothing was changed, run it again later")
        raise typer.Exit(1) from None
    table = Table("table", "month", "done", "rows", "file", "bytes", title="dry run: nothing changed" if dry_run
                  else f"archive in {out}")
    for line in lines:
        table.add_row(line.table, line.month, line.action, str(line.rows),
                      ", ".join(p.name for p in line.files), str(line.bytes) if line.files else "")
    if lines:
        console.print(table)
        return
    kept = all(getattr(settings, rule.setting) == 0 for rule in RULES)
    console.print("nothing to archive" + (" (every LANGGANAN_RETENTION_* setting is 0: all history is kept)"
                                          if kept else ""))


@app.command("export")
def export_cmd(kind: Annotated[str, typer.Argument(help="invoices, payments, credit-notes, ledger, usage or audit")],
               since: Annotated[str | None, typer.Option(help="First day included, YYYY-MM-DD (seller's zone)")] = None,
               until: Annotated[str | None, typer.Option(help="Last day included, YYYY-MM-DD (seller's zone)")] = None,
               output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")]
               = None) -> None:
    """Write a CSV export of a date range (the same file as GET /v1/exports/{kind}.csv)."""
    from langganan.exports import service
    from langganan.exports.tables import ExportKind
    from langganan.kit.errors import DomainError

    try:
        chosen = ExportKind(kind)
    except ValueError:
        console.print(f"[red]unknown export {kind!r}[/red]: one of {', '.join(k.value for k in ExportKind)}")
        raise typer.Exit(2) from None
    settings, db = _setup()
    try:
        start, end = service.day_range(since, until, settings.seller_timezone)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for chunk in service.stream(db, chosen, start, end):
            target.write(chunk)
    finally:
        if output:
            target.close()


def main() -> None:
    try:
        app()
    except Exception as exc:
        if not is_transient(exc):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        console.print(f"[red]the database was busy or unreachable[/red] ({detail}); what was committed before "
                      "is kept. Run the command again.", soft_wrap=True)
        raise SystemExit(1) from exc
