"""due runner: a partial index for the renewal charges in flight (stale-charge look-up)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_subscriptions_charge_in_flight', 'subscriptions', ['charge_claimed_at'], unique=False,
                    sqlite_where=sa.text('renewal_payment_id IS NOT NULL'),
                    postgresql_where=sa.text('renewal_payment_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_subscriptions_charge_in_flight', table_name='subscriptions',
                  sqlite_where=sa.text('renewal_payment_id IS NOT NULL'),
                  postgresql_where=sa.text('renewal_payment_id IS NOT NULL'))
