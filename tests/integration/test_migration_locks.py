"""Which migrations are safe to run under load (issue 17, "Zero-downtime migrations"), on PostgreSQL.

Every Alembic step is run on its own, in one transaction, on a fresh database; after each statement the test
reads which locks the transaction holds on tables that existed before the step (pg_locks). A lock is held until
the step commits, so what matters is what the step does after taking it: an ACCESS EXCLUSIVE lock (no reads,
no writes) followed only by catalog changes (a nullable column, a constant default, a dropped index) lasts
milliseconds once granted; followed by a statement whose time grows with a table (an UPDATE of every row, a
CREATE INDEX, a foreign key's validation, an INSERT ... SELECT) it lasts as long as that statement. A write-
blocking lock (SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE) held across such a statement stops writes that long.

DOCUMENTED is what the README says of each step (tables that can be large only: all but SMALL). A new migration
that blocks a table that may be large for longer than a catalog change fails here until it is documented (or,
better, rewritten: CREATE INDEX CONCURRENTLY outside the transaction, NOT VALID constraints validated later,
backfills in batches of their own). Old migrations are not rewritten: they are documented.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, text

from langganan.kit.migrate import alembic_config
from tests.conftest import _pg_reachable, empty_pg_database

# Tables whose size is configuration's, not traffic's or the customer base's.
SMALL = {"alembic_version", "api_keys", "catalog_versions", "engine_clock", "generated_secrets", "invoice_sequences",
         "promotions", "staff_users", "webhook_endpoints"}
READS_AND_WRITES, WRITES = "ACCESS EXCLUSIVE", "writes"  # what a lock stops
BRIEF, SCAN = "brief", "scan"  # how long it is held: a catalog change, or while a table is scanned or rewritten
WRITE_BLOCKING = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock"}

AE, W = READS_AND_WRITES, WRITES
# revision -> ({(table, what it stops, how long)}, why); write-blocking locks are listed only when held across a
# scan. The README's table of migrations is this one.
DOCUMENTED: dict[str, tuple[set[tuple[str, str, str]], str]] = {
    "0001": (set(), "creates the schema"),
    "0002": ({("subscriptions", AE, SCAN), ("accounts", W, SCAN), ("unapplied_payments", AE, BRIEF)},
             "3 columns added to subscriptions, then an index built on it: subscriptions unreadable while it builds"),
    "0003": (set(), "new table"),
    "0004": ({("wallets", AE, SCAN), ("accounts", W, SCAN), ("events", W, SCAN)},
             "3 columns added to wallets, then every event row updated (dispatched_at): usage stops meanwhile"),
    "0005": ({("subscriptions", AE, SCAN), ("accounts", W, SCAN), ("payment_methods", W, SCAN)},
             "10 columns added to subscriptions, an index built, 2 foreign keys validated, every row updated"),
    "0006": (set(), "new tables"),
    "0007": ({("invoices", W, SCAN), ("wallets", W, SCAN)},
             "an index built on invoices, then the whole ledger summed into wallet_spend_hours: no invoice or "
             "wallet writes meanwhile"),
    "0008": (set(), "new table"),
    "0009": ({("subscriptions", W, SCAN)}, "a partial index built on subscriptions: its writes wait"),
    "0010": ({("events", AE, SCAN), ("subscriptions", AE, SCAN), ("wallets", AE, SCAN)},
             "4 indexes dropped, then a partial index built on events: the three tables unreadable meanwhile"),
    "0011": ({("subscriptions", AE, BRIEF)}, "a nullable column added"),
    "0012": ({("invoices", AE, SCAN)}, "a unique index on invoices dropped and built again"),
    "0013": ({("invoices", AE, BRIEF), ("invoices", W, SCAN), ("subscriptions", W, SCAN)},
             "every subscription copied into subscription_periods: subscription and invoice writes wait; then a "
             "nullable column on invoices"),
    "0014": ({("unapplied_payments", AE, SCAN), ("accounts", W, SCAN), ("gateway_notifications", W, SCAN),
              ("payments", W, SCAN)},
             "2 columns, a validated foreign key and an index on unapplied_payments (held money: small)"),
    "0015": (set(), "one row"),
    "0016": ({("wallet_entries", AE, SCAN), ("accounts", AE, BRIEF), ("usage_events", AE, BRIEF)},
             "2 columns added to the ledger, every usage entry updated, a unique index built: the ledger "
             "unreadable throughout; usage_events dropped"),
    "0017": ({("payments", AE, SCAN), ("payment_methods", AE, SCAN)},
             "5 columns on payments and payment_methods, then a partial index built on payments"),
    "0018": (set(), "new table"),
    "0019": (set(), "new tables"),
    "0020": ({("invoices", AE, SCAN), ("accounts", AE, BRIEF)},
             "a column added to invoices and every invoice updated (tax_base); 5 nullable columns on accounts"),
    "0021": ({("unapplied_payments", AE, BRIEF)}, "5 nullable columns added"),
    "0022": (set(), "new table"),
    "0023": (set(), "new table"),
    "0024": (set(), "a column with a constant default on staff_users (small), new table"),
    "0025": (set(), "new table"),
    "0026": ({(t, AE, SCAN) for t in ("wallet_entries", "wallet_spend_hours", "invoice_lines", "subscription_periods",
                                      "delivery_attempts", "tax_invoice_numbers")},
             "account_id added to 6 tables, each backfilled from its parent (every row rewritten) and SET NOT NULL "
             "(a scan), one after another: the ledger stays locked until the last is done"),
    "0027": ({("deliveries", AE, SCAN), ("notifications", AE, SCAN), ("portal_links", AE, BRIEF)},
             "4 columns on deliveries (catalog only), then a unique index built on notifications while both are "
             "locked; a nullable column on portal_links"),
    "0029": ({("delivery_attempts", AE, SCAN), ("deliveries", W, SCAN), ("deliveries", AE, BRIEF)},
             "delivery_attempts copied into a table partitioned by month, then its index built: no sends recorded "
             "meanwhile; the new foreign key holds delivery writes until then; the old table's dropped (its "
             "foreign key: deliveries locked for catalog changes)"),
}

# Statements whose time grows with a table (and the table), on PostgreSQL.
GROWING = [re.compile(p, re.IGNORECASE) for p in (
    r"^CREATE (?:UNIQUE )?INDEX (?!CONCURRENTLY)\S+ ON (\w+)",  # builds from every row, writes blocked meanwhile
    r"^UPDATE (\w+)",  # every row it matches, rewritten
    r"^DELETE FROM (\w+)",
    r"^INSERT INTO \w+ .*\bSELECT\b.*\bFROM (\w+)",  # reads the table it copies from
    r"^ALTER TABLE (\w+) ADD CONSTRAINT \w+ (?:FOREIGN KEY|CHECK|UNIQUE)(?!.*NOT VALID)",  # validated row by row
    r"^ALTER TABLE (\w+) ALTER COLUMN \w+ (?:SET NOT NULL|TYPE)",  # a scan; TYPE rewrites the table
)]
LOCKS = """SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
           WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
             AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"""


@dataclass
class Step:
    revision: str
    existing: set[str]  # tables before the step
    statements: list[str] = field(default_factory=list)
    taken: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, lock mode) -> statement that took it

    def growing_after(self, index: int) -> list[str]:
        """The statements from `index` on whose time grows with a table that existed before the step."""
        out = []
        for statement in self.statements[index:]:
            for pattern in GROWING:
                found = pattern.search(statement)
                if found and found.group(1) in self.existing and found.group(1) != "alembic_version":
                    out.append(statement)
                    break
        return out

    def blocking(self) -> dict[tuple[str, str, str], list[str]]:
        """(table, what it stops, how long) -> the growing statements the lock is held across."""
        out: dict[tuple[str, str, str], list[str]] = {}
        for (table, mode), index in self.taken.items():
            if table in SMALL or table not in self.existing:
                continue
            across = self.growing_after(index)
            if mode == "AccessExclusiveLock":
                out[(table, READS_AND_WRITES, SCAN if across else BRIEF)] = across
            elif mode in WRITE_BLOCKING and across:
                out[(table, WRITES, SCAN)] = across
        for table, what, held in list(out):  # (writes stopped too, while reads are: said once)
            if what == WRITES and (table, READS_AND_WRITES, SCAN) in out:
                del out[(table, what, held)]
        return out


@pytest.fixture(scope="module")
def empty_pg() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    checkout = hashlib.sha1(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()[:6]
    with empty_pg_database(f"langganan_locks_{checkout}") as url:
        yield url


def run_steps(url: str) -> list[Step]:
    """Every migration from an empty database, one step at a time, each watched as it runs."""
    cfg = alembic_config(url)
    revisions = [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]
    engine = create_engine(url)
    steps = []
    try:
        for revision in revisions:
            with engine.connect() as conn:
                existing = set(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
                conn.commit()
                step = Step(revision, existing)
                _watch(conn, step)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            steps.append(step)
    finally:
        engine.dispose()
    return steps


def _watch(conn: Connection, step: Step) -> None:
    @event.listens_for(conn, "after_cursor_execute")
    def _after(_conn: Connection, cursor: Any, statement: str, *_args: Any) -> None:
        step.statements.append(" ".join(statement.split()))
        with cursor.connection.cursor() as look:  # (the same transaction)
            for table, mode in look.execute(LOCKS).fetchall():
                step.taken.setdefault((table, mode), len(step.statements) - 1)


@pytest.mark.postgres
def test_each_migration_blocks_large_tables_only_as_documented(empty_pg: str) -> None:
    steps = run_steps(empty_pg)
    assert set(DOCUMENTED) <= {s.revision for s in steps}, "DOCUMENTED names a migration that is gone"
    report = []
    for step in steps:
        found = step.blocking()
        if step.revision not in DOCUMENTED:  # a new migration: blocking nothing large, or documented
            assert not found, (f"migration {step.revision} blocks tables that may be large: document it in "
                               f"DOCUMENTED and the README (or take the locks for a catalog change only)", found)
            continue
        report.append(f"{step.revision}: " + "; ".join(
            f"{table} {what} {held}" + (f" across {' / '.join(s[:70] for s in found[(table, what, held)])}"
                                        if held == SCAN else "")
            for table, what, held in sorted(found)))
        assert set(found) == DOCUMENTED[step.revision][0], (step.revision, found)
    print("\n" + "\n".join(report))
