"""indexes no query uses are dropped (each insert or update paid for them); the event dispatcher's
queue gets a partial index of the undispatched events only

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDISPATCHED = sa.text('dispatched_at IS NULL')


def upgrade() -> None:
    op.drop_index('ix_subscriptions_current_period_end', table_name='subscriptions')
    op.drop_index('ix_subscriptions_allotment_end', table_name='subscriptions')
    op.drop_index('ix_wallets_granted_expires_at', table_name='wallets')
    op.drop_index('ix_events_dispatched_at', table_name='events')
    op.create_index('ix_events_undispatched', 'events', ['id'], unique=False,
                    sqlite_where=UNDISPATCHED, postgresql_where=UNDISPATCHED)


def downgrade() -> None:
    op.drop_index('ix_events_undispatched', table_name='events', sqlite_where=UNDISPATCHED,
                  postgresql_where=UNDISPATCHED)
    op.create_index('ix_events_dispatched_at', 'events', ['dispatched_at'], unique=False)
    op.create_index('ix_wallets_granted_expires_at', 'wallets', ['granted_expires_at'], unique=False)
    op.create_index('ix_subscriptions_allotment_end', 'subscriptions', ['allotment_end'], unique=False)
    op.create_index('ix_subscriptions_current_period_end', 'subscriptions', ['current_period_end'], unique=False)
