"""hourly spend per wallet for the daily-spend chart, filled from the existing ledger; an index for
renewal lookups by (subscription, period)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPEND = "('usage', 'hold', 'release', 'capture')"


def upgrade() -> None:
    op.create_table('wallet_spend_hours',
    sa.Column('wallet_id', sa.String(length=40), nullable=False),
    sa.Column('hour', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['wallet_id'], ['wallets.id'], ),
    sa.PrimaryKeyConstraint('wallet_id', 'hour')
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_subscription_period', ['subscription_id', 'period_start'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        hour = "date_trunc('hour', created_at)"
    else:  # SQLite stores UTC times as text 'YYYY-MM-DD HH:MM:SS[.ffffff]'
        hour = "strftime('%Y-%m-%d %H:00:00.000000', created_at)"
    op.execute(f"INSERT INTO wallet_spend_hours (wallet_id, hour, amount) SELECT wallet_id, {hour}, -SUM(amount) "
               f"FROM wallet_entries WHERE type IN {SPEND} GROUP BY wallet_id, {hour}")


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_subscription_period')
    op.drop_table('wallet_spend_hours')
