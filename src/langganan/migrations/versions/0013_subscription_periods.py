"""the books' history: subscription_periods, each subscription's period history, append-only
(subscriptions/history.py); invoices.content_hash, the seal of what an invoice said when issued

Subscriptions from before this revision get one `opening` row: their current state from their current
period start, which `langganan verify` takes as given (what came before is not in the history).
Invoices from before it have no seal (NULL), so verify cannot tell whether they changed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'subscription_periods',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('subscription_id', sa.String(length=40), nullable=False),
        sa.Column('starts_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('plan_code', sa.String(length=40), nullable=False),
        sa.Column('interval', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('invoice_id', sa.String(length=40), nullable=True),
        sa.Column('recorded_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_subscription_periods_subscription', 'subscription_periods', ['subscription_id', 'id'],
                    unique=False)
    # one opening row per subscription; its id sorts before the time-ordered ids of later rows
    op.execute("INSERT INTO subscription_periods (id, subscription_id, starts_at, plan_code, interval, kind, "
               "invoice_id, recorded_at) SELECT 'per_0' || substr(id, 5), id, current_period_start, plan_code, "
               "interval, 'opening', NULL, current_period_start FROM subscriptions")
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_column('content_hash')
    op.drop_index('ix_subscription_periods_subscription', table_name='subscription_periods')
    op.drop_table('subscription_periods')
