"""account_id on every table that holds an account's rows (wallet_entries, wallet_spend_hours, invoice_lines,
subscription_periods, delivery_attempts, tax_invoice_numbers), copied from the parent row, so that the data can be
sharded by account (Citus: distributed by account_id, README "Running in production")

Not for a busy database with a long ledger: the backfill rewrites every row of these tables and, on PostgreSQL,
SET NOT NULL scans each under an ACCESS EXCLUSIVE lock (README, "Migrations under load").

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, its parent table, the column naming the parent, whether every row has an account
CHILDREN = (
    ('wallet_entries', 'wallets', 'wallet_id', True),
    ('wallet_spend_hours', 'wallets', 'wallet_id', True),
    ('invoice_lines', 'invoices', 'invoice_id', True),
    ('subscription_periods', 'subscriptions', 'subscription_id', True),
    ('delivery_attempts', 'deliveries', 'delivery_id', False),
    ('tax_invoice_numbers', 'invoices', 'invoice_id', True),
)


def upgrade() -> None:
    for table, parent, column, required in CHILDREN:
        op.add_column(table, sa.Column('account_id', sa.String(length=40), nullable=True))
        op.execute(f"UPDATE {table} SET account_id = (SELECT {parent}.account_id FROM {parent} "
                   f"WHERE {parent}.id = {table}.{column})")
        if required:
            with op.batch_alter_table(table) as batch:
                batch.alter_column('account_id', existing_type=sa.String(length=40), nullable=False)


def downgrade() -> None:
    for table, _parent, _column, _required in reversed(CHILDREN):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('account_id')
