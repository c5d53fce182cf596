"""one renewal invoice per (subscription, period start), expired and failed ones included: only a
canceled one may be replaced (DESIGN rule 4)

Before this revision the unique index covered unpaid and paid renewals only, and a due run that caught
up after a long pause could issue a second renewal for a period whose first one had expired or failed.
Such extra renewals were issued in error and nothing was paid on them (a payment arriving on one was
held as unapplied money, which stays as it is): for each period the live (unpaid or paid) renewal, or
else the first one issued, is kept, and the others are marked canceled, so the stricter index can be
built.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = sa.text("type = 'renewal' AND status IN ('unpaid', 'paid')")
NEW = sa.text("type = 'renewal' AND status <> 'canceled'")


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, subscription_id, period_start, status, issued_at FROM invoices "
        "WHERE type = 'renewal' AND status <> 'canceled' ORDER BY subscription_id, period_start, issued_at, id"
    )).all()
    periods: dict[tuple[object, object], list[tuple[str, str]]] = {}
    for row in rows:
        periods.setdefault((row.subscription_id, row.period_start), []).append((row.id, row.status))
    extra: list[str] = []
    for invoices in periods.values():
        if len(invoices) < 2:
            continue
        keep = next((inv for inv in invoices if inv[1] in ('unpaid', 'paid')), invoices[0])
        extra.extend(inv_id for inv_id, _ in invoices if inv_id != keep[0])
    for inv_id in extra:
        conn.execute(sa.text("UPDATE invoices SET status = 'canceled' WHERE id = :id"), {"id": inv_id})
    op.drop_index('uq_invoices_renewal_open', table_name='invoices', sqlite_where=OLD, postgresql_where=OLD)
    op.create_index('uq_invoices_renewal', 'invoices', ['subscription_id', 'period_start'], unique=True,
                    sqlite_where=NEW, postgresql_where=NEW)


def downgrade() -> None:
    op.drop_index('uq_invoices_renewal', table_name='invoices', sqlite_where=NEW, postgresql_where=NEW)
    op.create_index('uq_invoices_renewal_open', 'invoices', ['subscription_id', 'period_start'], unique=True,
                    sqlite_where=OLD, postgresql_where=OLD)
