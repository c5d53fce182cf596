"""History and retention (issue 17, "Keep history without slowing down"), on SQLite and PostgreSQL: `langganan
archive` writes every row it removes to a gzip CSV file first, keeps pending deliveries and every money record,
leaves the books verifying clean, does nothing twice when run again (also after a run that stopped half-way),
changes nothing in a dry run; on PostgreSQL delivery_attempts' months are partitions created ahead by the worker's
upkeep, a send with no partition for its month lands in the default partition and moves into its month's partition
when that is created, and an old month is dropped whole."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from langganan import cli
from langganan.app import create_app, open_database, prepare
from langganan.catalog import service as catalog_service
from langganan.config import Settings
from langganan.console.models import LoginAttempt
from langganan.events.models import Event
from langganan.history import archive as archive_module
from langganan.history import partitions, repository
from langganan.history.archive import archive
from langganan.history.files import cell_text
from langganan.history.retention import add_months, label, month_start
from langganan.history.upkeep import Upkeep
from langganan.kit.clock import wall_now
from langganan.kit.db import Database
from langganan.kit.ids import new_id
from langganan.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Notification
from langganan.web.models import SessionKind, WebSession
from tests.conftest import ADMIN_KEY, Env, _truncate_pg, make_settings, own_pg_database

RETAIN = {"retention_delivery_months": 3, "retention_notification_months": 3, "retention_login_months": 3,
          "retention_session_months": 3}
MONEY = ("wallet_entries", "invoices", "invoice_lines", "payments", "audit_entries", "events")


@pytest.fixture(scope="module")
def history_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from own_pg_database(request, "history")


def _reset_partitions(db: Database) -> None:
    """Only what migration 0029 leaves: the default partition and this month's and the next two."""
    with db.engine.begin() as conn:
        names = conn.scalars(text("SELECT relname FROM pg_class WHERE relkind = 'r' "
                                  "AND relname ~ '^delivery_attempts_[0-9]{4}_[0-9]{2}$'")).all()
        for name in names:
            conn.execute(text(f"DROP TABLE {name}"))
    partitions.maintain(db, wall_now())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """An app on a database of its own (PostgreSQL: this module's, its partitions as the migration made them)."""
    catalog_service.forget_cache()
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "test.db")
        db = open_database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        db = open_database(request.getfixturevalue("history_pg"))
        _truncate_pg(db)
        _reset_partitions(db)
    settings = make_settings(db, **RETAIN)
    prepare(settings, db, migrate_if_empty=False)
    with TestClient(create_app(settings, db)) as client:
        yield Env(db=db, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    db.dispose()


@dataclass
class Made:
    """The history rows a test made, by what should become of them."""

    goes: dict[str, set[str]]  # table -> ids archive removes
    stays: dict[str, set[str]]  # table -> ids it keeps


def _history(env: Env, now: datetime) -> Made:
    """An account with money records (a purchase, usage), then deliveries, attempts, feed items, login attempts
    and sessions: some older than the 3 months kept (two old months), some recent; an old pending delivery."""
    account = env.account()["id"]
    env.buy(account, "growth")
    for i in range(3):
        env.ok(env.post("/v1/usage", {"id": f"h-{i}", "account_id": account, "meter": "conversation_reply"}), 201)
    old = add_months(month_start(now), -6) + timedelta(days=3, hours=5)
    older = add_months(month_start(now), -8) + timedelta(days=20)
    recent = now - timedelta(days=1)
    goes: dict[str, set[str]] = {t: set() for t in ("deliveries", "delivery_attempts", "notifications",
                                                      "login_attempts", "web_sessions")}
    stays: dict[str, set[str]] = {t: set() for t in goes}
    engine_now = env.now()
    with env.db.transaction() as s:
        event = s.scalars(select(Event).where(Event.account_id == account).order_by(Event.id)).first()
        assert event is not None
        for n, (when, status, fate) in enumerate(((old, DeliveryStatus.SUCCEEDED, goes),
                                                  (older, DeliveryStatus.FAILED, goes),
                                                  (old, DeliveryStatus.PENDING, stays),
                                                  (recent, DeliveryStatus.SUCCEEDED, stays))):
            d = Delivery(id=new_id("dlv"), event_id=event.id, event_type=event.type, account_id=account,
                         channel=Channel.WEBHOOK, target=f"we_{n}", body="{}", status=status, attempts=2,
                         created_at=when, updated_at=when + timedelta(minutes=5))
            s.add(d)
            s.flush()
            fate["deliveries"].add(d.id)
            for k in (1, 2):
                a = DeliveryAttempt(delivery_id=d.id, account_id=account, number=k, started_at=when + timedelta(
                    minutes=k), duration_ms=12, succeeded=k == 2, status_code=500 if k == 1 else 200,
                    error="HTTP 500, \"quoted\"\nand a new line" if k == 1 else None)
                s.add(a)
                s.flush()
                # attempts go by their month, whatever their delivery's state (the pending one's old attempts too)
                (goes if when < recent - timedelta(days=60) else stays)["delivery_attempts"].add(str(a.id))
        for when, fate in ((old, goes), (older, goes), (recent, stays)):
            told = Event(id=new_id("evt"), type="test.told", account_id=account, data={}, created_at=engine_now,
                         dispatched_at=engine_now)
            s.add(told)
            s.flush()
            item = Notification(id=new_id("ntf"), account_id=account, event_id=told.id, type="invoice.created",
                                title="Tagihan", body="Ada tagihan baru", created_at=when)
            s.add(item)
            fate["notifications"].add(item.id)
        for when, fate in ((old, goes), (recent, stays)):
            attempt = LoginAttempt(email="ops@example.id", ip="127.0.0.1", succeeded=False, created_at=when)
            s.add(attempt)
            s.flush()
            fate["login_attempts"].add(str(attempt.id))
            session = WebSession(id=new_id("ws"), kind=SessionKind.PORTAL, account_id=account,
                                 token_hash=new_id("t").ljust(64, "0"), csrf_token="c" * 64, created_at=when,
                                 expires_at=when + timedelta(days=7))
            s.add(session)
            fate["web_sessions"].add(session.id)
    return Made(goes, stays)


def _ids(db: Database, table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {str(i) for i in conn.scalars(text(f"SELECT id FROM {table}"))}


def _rows(db: Database, table: str) -> dict[str, dict[str, str]]:
    """Each row as archive writes it (by id)."""
    with db.engine.connect() as conn:
        return {str(r["id"]): {k: str(cell_text(v)) for k, v in r.items()}
                for r in conn.execute(select(repository.RETAINED[table].table)).mappings()}


def _money(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in MONEY}


def _files(out: Path) -> dict[str, list[dict[str, str]]]:
    """Every archive file's rows (by table), and each file's header checked against the table's columns."""
    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted(out.glob("*.csv.gz")):
        table = path.name.split("-")[0]
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            source = repository.RETAINED.get(table) or repository.KEPT[table]
            assert reader.fieldnames == source.columns
            found.setdefault(table, []).extend(reader)
    return found


def _settings(env: Env, **overrides: Any) -> Settings:
    return make_settings(env.db, **{**RETAIN, **overrides})


def test_archive_writes_every_row_it_removes_and_keeps_money_and_pending_deliveries(env: Env,
                                                                                      tmp_path: Path) -> None:
    now = wall_now()
    made = _history(env, now)
    if env.db.dialect == "postgresql":
        partitions.maintain(env.db, add_months(month_start(now), -6))  # the old month has a partition; older not
    before = {t: _rows(env.db, t) for t in made.goes}
    money = _money(env.db)

    lines = archive(env.db, _settings(env), now, tmp_path / "archive")

    for table, ids in made.goes.items():
        assert not ids & _ids(env.db, table), f"{table}: rows past retention are still there"
        assert made.stays[table] <= _ids(env.db, table), f"{table}: a row it should keep is gone"
    written = _files(tmp_path / "archive")
    for table, ids in made.goes.items():
        rows = written.get(table, [])
        assert sorted(r["id"] for r in rows) == sorted(ids), table  # each removed row once, nothing else
        assert [before[table][r["id"]] for r in rows] == rows, table  # the rows as they were
    attempt = next(r for r in written["delivery_attempts"] if r["number"] == "1")
    assert attempt["error"] == "HTTP 500, \"quoted\"\nand a new line" and attempt["succeeded"] == "false"
    assert attempt["started_at"].endswith("Z")
    assert _money(env.db) == money
    env.assert_books()
    removed = {(line.table, line.month) for line in lines if line.rows}
    assert ("deliveries", label(add_months(month_start(now), -6))) in removed
    if env.db.dialect == "postgresql":
        assert any(line.action == "dropped" for line in lines)
        old = repository.partition_name(add_months(month_start(now), -6))
        with env.db.engine.connect() as conn:
            assert conn.scalar(text("SELECT to_regclass(:n)"), {"n": old}) is None, "the old month is dropped"


def test_a_second_run_finds_nothing_and_a_run_stopped_half_way_exports_nothing_twice(
        env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = wall_now()
    made = _history(env, now)
    if env.db.dialect == "postgresql":
        partitions.maintain(env.db, add_months(month_start(now), -6))
    out = tmp_path / "archive"

    def stop(*_args: Any) -> int:
        raise KeyboardInterrupt("the run stopped here")

    runs = []
    if env.db.dialect == "postgresql":
        runs.append((repository, "drop"))  # stopped between detaching (and exporting) a month and dropping it
    runs.append((archive_module, "_delete"))  # stopped after its files were written, before it deleted their rows
    seen: dict[str, bytes] = {}
    for module, name in runs:
        with monkeypatch.context() as patched:
            patched.setattr(module, name, stop)
            with pytest.raises(KeyboardInterrupt):
                archive(env.db, _settings(env), now, out)
        assert not list(out.glob(".*"))  # complete files only, no temporary left
        for path in out.glob("*.csv.gz"):
            assert seen.setdefault(path.name, path.read_bytes()) == path.read_bytes()  # never rewritten
    first_files = dict(seen)
    assert first_files

    archive(env.db, _settings(env), now, out)
    for table, ids in made.goes.items():
        assert not ids & _ids(env.db, table), table
    written = _files(out)
    for table, ids in made.goes.items():
        assert sorted(r["id"] for r in written.get(table, [])) == sorted(ids), table
    for name, data in first_files.items():
        assert (out / name).read_bytes() == data  # never rewritten differently
    files_now = sorted(p.name for p in out.glob("*.csv.gz"))
    again = archive(env.db, _settings(env), now, out)
    assert again == [] and sorted(p.name for p in out.glob("*.csv.gz")) == files_now
    if env.db.dialect == "postgresql":
        with env.db.transaction() as s:
            assert repository.detached(s) == []
    env.assert_books()


def test_a_dry_run_counts_and_changes_nothing(env: Env, tmp_path: Path) -> None:
    now = wall_now()
    made = _history(env, now)
    before = {t: _ids(env.db, t) for t in made.goes}
    lines = archive(env.db, _settings(env), now, None, dry_run=True)
    assert {t: _ids(env.db, t) for t in made.goes} == before
    counted: dict[str, int] = {}
    for line in lines:
        assert line.action.startswith("would") and not line.files
        counted[line.table] = counted.get(line.table, 0) + line.rows
    assert counted == {t: len(ids) for t, ids in made.goes.items()}
    assert not (tmp_path / "archive").exists()


def test_a_retention_of_zero_keeps_everything_and_before_moves_the_cutoff_earlier_only(env: Env,
                                                                                          tmp_path: Path) -> None:
    now = wall_now()
    made = _history(env, now)
    before = {t: _ids(env.db, t) for t in made.goes}
    assert archive(env.db, make_settings(env.db), now, tmp_path / "a") == []
    # --before the older month only: the old month's rows stay although the settings would let them go
    lines = archive(env.db, _settings(env), now, tmp_path / "b", before=add_months(month_start(now), -7))
    assert {line.month for line in lines} == {label(add_months(month_start(now), -8))}
    assert {t: _ids(env.db, t) for t in made.goes} != before
    assert made.goes["notifications"] & _ids(env.db, "notifications")


def test_export_kept_writes_the_money_tables_by_month_and_deletes_nothing(env: Env, tmp_path: Path) -> None:
    now = wall_now()
    _history(env, now)
    money = _money(env.db)
    end = add_months(month_start(env.now()), 1)  # (the engine clock: the purchase is in its month)
    lines = archive(env.db, make_settings(env.db), now, tmp_path / "kept", before=end, export_kept=True)
    assert _money(env.db) == money
    written = _files(tmp_path / "kept")
    assert {line.table for line in lines} >= {"wallet_entries", "invoices", "invoice_lines", "payments", "events"}
    for table in ("wallet_entries", "invoices", "invoice_lines", "payments", "events"):
        assert len(written[table]) == money[table], table
    assert {line.action for line in archive(env.db, make_settings(env.db), now, tmp_path / "kept", before=end,
                                            export_kept=True)} == {"already exported"}


def test_the_command_prints_what_it_did_per_table(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = wall_now()
    _history(env, now)
    monkeypatch.setenv("LANGGANAN_DATABASE_URL", env.db.url)
    monkeypatch.setenv("LANGGANAN_CLOCK_START", "2026-01-15T03:00:00+00:00")
    for name, months in RETAIN.items():
        monkeypatch.setenv(f"LANGGANAN_{name.upper()}", str(months))
    monkeypatch.setattr(cli.console, "width", 200)
    runner = CliRunner()
    dry = runner.invoke(cli.app, ["archive", "--dry-run"])
    assert dry.exit_code == 0 and "would delete" in dry.output and "notifications" in dry.output, dry.output
    assert runner.invoke(cli.app, ["archive"]).exit_code == 2  # no --out
    assert runner.invoke(cli.app, ["archive", "--out", str(tmp_path), "--before", "2026-13"]).exit_code == 2
    done = runner.invoke(cli.app, ["archive", "--out", str(tmp_path / "a")])
    assert done.exit_code == 0 and "deleted" in done.output and "notifications-" in done.output, done.output
    assert runner.invoke(cli.app, ["archive", "--out", str(tmp_path / "a")]).output.strip() == "nothing to archive"


def test_the_worker_archives_daily_into_its_directory_when_one_is_set(env: Env, tmp_path: Path) -> None:
    now = wall_now()
    made = _history(env, now)
    upkeep = Upkeep()
    _created, lines = upkeep.run(env.db, _settings(env, archive_dir=str(tmp_path / "daily")), now)
    assert {line.table for line in lines if line.rows} == set(made.goes)
    for table, ids in made.goes.items():
        assert not ids & _ids(env.db, table), table
        assert sorted(r["id"] for r in _files(tmp_path / "daily").get(table, [])) == sorted(ids), table
    with env.db.transaction() as s:  # more old history: left for tomorrow's turn
        account = s.scalars(select(Event.account_id).where(Event.account_id.is_not(None))).first()
        for _ in range(2):
            told = Event(id=new_id("evt"), type="test.told", account_id=account, data={}, created_at=now,
                         dispatched_at=now)
            s.add(told)
            s.flush()
            s.add(Notification(id=new_id("ntf"), account_id=account, event_id=told.id, type="invoice.created",
                               title="Tagihan", body="Ada tagihan baru", created_at=add_months(now, -7)))
    assert upkeep.run(env.db, _settings(env, archive_dir=str(tmp_path / "daily")), now + timedelta(hours=23))[1] == []
    later = upkeep.run(env.db, _settings(env, archive_dir=str(tmp_path / "daily")), now + timedelta(days=1))[1]
    assert sum(line.rows for line in later if line.table == "notifications") == 2


def test_two_archives_never_run_at_once(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While one archive runs, another one into the same directory, or (PostgreSQL) into any directory, is refused
    and changes nothing; the command says so and exits 1; the worker's turn leaves it to the running one."""
    now = wall_now()
    made = _history(env, now)
    counts = {t: len(_ids(env.db, t)) for t in made.goes}
    monkeypatch.setenv("LANGGANAN_DATABASE_URL", env.db.url)
    for name, months in RETAIN.items():
        monkeypatch.setenv(f"LANGGANAN_{name.upper()}", str(months))
    others = [tmp_path / "a"] + ([tmp_path / "b"] if env.db.dialect == "postgresql" else [])
    with archive_module.one_at_a_time(env.db, tmp_path / "a"):
        for out in others:
            with pytest.raises(archive_module.ArchiveBusy):
                archive(env.db, _settings(env), now, out)
            refused = CliRunner().invoke(cli.app, ["archive", "--out", str(out)])
            assert refused.exit_code == 1 and "not archived" in refused.output, refused.output
        assert Upkeep().run(env.db, _settings(env, archive_dir=str(tmp_path / "a")), now)[1] == []
        assert archive(env.db, _settings(env), now, None, dry_run=True)  # counting needs no lock
    assert {t: len(_ids(env.db, t)) for t in made.goes} == counts
    assert not list((tmp_path / "a").glob("*.csv.gz"))
    assert archive(env.db, _settings(env), now, tmp_path / "a")  # released: the next one runs


# --- PostgreSQL: partitions ---------------------------------------------------------------------------------

def _months_attached(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.scalars(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                     "WHERE i.inhparent = 'delivery_attempts'::regclass")))


@pytest.mark.postgres
def test_upkeep_creates_partitions_ahead_and_a_send_outside_them_lands_in_default_then_moves(
        request: pytest.FixtureRequest) -> None:
    db = open_database(request.getfixturevalue("history_pg"))
    try:
        _truncate_pg(db)
        _reset_partitions(db)
        now = wall_now()
        ahead = {repository.partition_name(add_months(month_start(now), n)) for n in range(3)}
        assert _months_attached(db) == ahead | {"delivery_attempts_default"}
        later = add_months(month_start(now), 5) + timedelta(days=2)
        with db.engine.begin() as conn:  # a delivery, and a send in a month no partition covers yet
            conn.execute(text("INSERT INTO events (id, type, data, created_at) VALUES ('evt_h', 't', '{}', now())"))
            conn.execute(text("INSERT INTO deliveries (id, event_id, event_type, channel, target, body, status, "
                              "attempts, created_at, updated_at, attach_invoice) VALUES ('dlv_h', 'evt_h', 't', "
                              "'webhook', 'we', '{}', 'pending', 0, now(), now(), false)"))
            conn.execute(text("INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, succeeded) "
                              "VALUES ('dlv_h', 1, :t, 5, true)"), {"t": later})
            assert conn.scalar(text("SELECT tableoid::regclass::text FROM delivery_attempts")) == \
                "delivery_attempts_default"
        upkeep, settings = Upkeep(), make_settings(db)
        created, archived = upkeep.run(db, settings, later)
        assert [c.moved for c in created if c.name == repository.partition_name(month_start(later))] == [1]
        assert archived == []  # no LANGGANAN_ARCHIVE_DIR: the worker does not archive
        assert upkeep.run(db, settings, later + timedelta(minutes=5)) == ([], [])  # at most hourly
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT tableoid::regclass::text FROM delivery_attempts")) == \
                repository.partition_name(month_start(later))
        assert {repository.partition_name(add_months(month_start(later), n)) for n in range(3)} <= _months_attached(db)
        assert partitions.maintain(db, later) == []  # nothing missing: nothing done
    finally:
        db.dispose()


@pytest.mark.postgres
def test_migration_0029_keeps_the_rows_and_partitions_their_months(tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    """From 0028 with attempts in three months (one far in the past): every row kept, each month partitioned,
    the sequence going on after the highest id."""
    from alembic import command

    from langganan.kit.migrate import alembic_config, upgrade

    url = request.getfixturevalue("history_pg")
    db = open_database(url)
    try:
        _truncate_pg(db)
        command.downgrade(alembic_config(url), "0028")
        now = wall_now()
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO events (id, type, data, created_at) VALUES ('evt_m', 't', '{}', now())"))
            conn.execute(text("INSERT INTO deliveries (id, event_id, event_type, channel, target, body, status, "
                              "attempts, created_at, updated_at, attach_invoice) VALUES ('dlv_m', 'evt_m', 't', "
                              "'webhook', 'we', '{}', 'succeeded', 3, now(), now(), false)"))
            for n, when in enumerate((datetime(2024, 2, 29, 23, 59, tzinfo=UTC), now - timedelta(days=40), now)):
                conn.execute(text("INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, "
                                  "succeeded) VALUES ('dlv_m', :n, :t, 5, true)"), {"n": n + 1, "t": when})
            before = conn.execute(text("SELECT id, started_at FROM delivery_attempts ORDER BY id")).all()
        upgrade(url)
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT id, started_at FROM delivery_attempts ORDER BY id")).all() == before
            placed = text("SELECT id, tableoid::regclass::text FROM delivery_attempts")
            where: dict[int, str] = {i: name for i, name in conn.execute(placed)}
            assert where[before[0][0]] == "delivery_attempts_2024_02"
            assert "delivery_attempts_default" not in where.values()
            new = conn.scalar(text("INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, "
                                   "succeeded) VALUES ('dlv_m', 4, now(), 5, true) RETURNING id"))
            assert new > max(i for i, _ in before)
        assert repository.partition_name(add_months(month_start(now), 2)) in _months_attached(db)
    finally:
        db.dispose()
