"""delivery_attempts partitioned by month of started_at on PostgreSQL (issue 17, "Keep history without slowing
down"; README "History and retention")

Every webhook and email send is one row here: the fastest-growing operational table. On PostgreSQL it becomes a
natively partitioned table (PARTITION BY RANGE (started_at), one partition per UTC calendar month, named
delivery_attempts_YYYY_MM, and delivery_attempts_default for anything outside them), so that retention drops whole
months (`langganan archive`) instead of deleting rows. The primary key becomes (id, started_at): PostgreSQL wants
the partition key in every unique index; ids still come from the one sequence, so id alone stays unique. This
migration creates a partition for every month the table already holds rows for, and for this month and the next
two; the worker creates the months after that (history/partitions.py).

Blocking: the old table is copied into the new one under an ACCESS EXCLUSIVE lock (no reads, no writes of delivery
attempts) and the foreign key to deliveries holds a SHARE ROW EXCLUSIVE lock on deliveries (no delivery writes)
until the copy and the index build end; dropping the old table then locks deliveries for catalog changes only
(README, "Upgrades and migrations under load": measured time).

SQLite keeps the plain table (retention deletes its rows in batches): nothing to do there.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, delivery_id, number, started_at, duration_ms, succeeded, status_code, error, account_id"
AHEAD = 2  # months after this one


def _columns(id_default: str) -> str:
    return (f"id BIGINT NOT NULL DEFAULT nextval('{id_default}'::regclass), "
            "delivery_id VARCHAR(40) NOT NULL, number INTEGER NOT NULL, started_at TIMESTAMP WITH TIME ZONE NOT NULL, "
            "duration_ms INTEGER NOT NULL, succeeded BOOLEAN NOT NULL, status_code INTEGER, error VARCHAR(500), "
            "account_id VARCHAR(40)")


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    out = [first]
    while out[-1] < last:
        out.append(_month_after(*out[-1]))
    return out


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    conn = op.get_bind()
    op.execute("LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE")
    now = datetime.now(UTC)
    first = last = (now.year, now.month)
    for _ in range(AHEAD):
        last = _month_after(*last)
    for held in conn.execute(sa.text("SELECT min(started_at), max(started_at) FROM delivery_attempts")).one():
        if held is not None:
            held_month = (held.astimezone(UTC).year, held.astimezone(UTC).month)
            first, last = min(first, held_month), max(last, held_month)
    op.execute(f"CREATE TABLE delivery_attempts_partitioned ({_columns('delivery_attempts_id_seq')}, "
               "CONSTRAINT delivery_attempts_partitioned_pkey PRIMARY KEY (id, started_at), "
               "CONSTRAINT delivery_attempts_partitioned_delivery_id_fkey FOREIGN KEY (delivery_id) "
               "REFERENCES deliveries (id)) PARTITION BY RANGE (started_at)")
    op.execute("CREATE TABLE delivery_attempts_default PARTITION OF delivery_attempts_partitioned DEFAULT")
    for year, month in _months(first, last):
        upper = _month_after(year, month)
        op.execute(f"CREATE TABLE delivery_attempts_{year:04d}_{month:02d} PARTITION OF delivery_attempts_partitioned "
                   f"FOR VALUES FROM ('{year:04d}-{month:02d}-01 00:00:00+00') "
                   f"TO ('{upper[0]:04d}-{upper[1]:02d}-01 00:00:00+00')")
    op.execute(f"INSERT INTO delivery_attempts_partitioned ({COLUMNS}) SELECT {COLUMNS} FROM delivery_attempts")
    op.execute("CREATE INDEX ix_delivery_attempts_partitioned_delivery ON delivery_attempts_partitioned "
               "(delivery_id, number)")
    op.execute("ALTER SEQUENCE delivery_attempts_id_seq OWNED BY delivery_attempts_partitioned.id")
    # from here on catalog changes only (dropping the old table's foreign key locks deliveries, briefly)
    op.execute("DROP TABLE delivery_attempts")
    op.execute("ALTER TABLE delivery_attempts_partitioned RENAME TO delivery_attempts")
    op.execute("ALTER INDEX ix_delivery_attempts_partitioned_delivery RENAME TO ix_delivery_attempts_delivery")
    op.execute("ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_partitioned_pkey "
               "TO delivery_attempts_pkey")
    op.execute("ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_partitioned_delivery_id_fkey "
               "TO delivery_attempts_delivery_id_fkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE")
    op.execute(f"CREATE TABLE delivery_attempts_plain ({_columns('delivery_attempts_id_seq')}, "
               "CONSTRAINT delivery_attempts_plain_pkey PRIMARY KEY (id), "
               "CONSTRAINT delivery_attempts_plain_delivery_id_fkey FOREIGN KEY (delivery_id) "
               "REFERENCES deliveries (id))")
    op.execute(f"INSERT INTO delivery_attempts_plain ({COLUMNS}) SELECT {COLUMNS} FROM delivery_attempts")
    op.execute("ALTER SEQUENCE delivery_attempts_id_seq OWNED BY delivery_attempts_plain.id")
    op.execute("DROP TABLE delivery_attempts")  # (its partitions with it; detached ones are left alone)
    op.execute("ALTER TABLE delivery_attempts_plain RENAME TO delivery_attempts")
    op.execute("ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_plain_pkey TO delivery_attempts_pkey")
    op.execute("ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_plain_delivery_id_fkey "
               "TO delivery_attempts_delivery_id_fkey")
    op.execute("CREATE INDEX ix_delivery_attempts_delivery ON delivery_attempts (delivery_id, number)")
