"""payments: what real gateways hand back beside a virtual account number: Mandiri bill payment's biller
code, a QRIS payment's QR string, when the status check last asked; payment_methods: removed cards (kept for
the payments that name them) and when the customer was told the card expires

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): instant on both databases, no table rebuilt.
    op.add_column('payments', sa.Column('biller_code', sa.String(length=20), nullable=True))
    op.add_column('payments', sa.Column('qr_string', sa.String(length=1000), nullable=True))
    op.add_column('payments', sa.Column('checked_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('payment_methods', sa.Column('removed_at', langganan.kit.db.UTCDateTime(timezone=True),
                                               nullable=True))
    op.add_column('payment_methods', sa.Column('expiry_noticed_at', langganan.kit.db.UTCDateTime(timezone=True),
                                               nullable=True))
    # The status check's scan: pending payments only (a small part of the table), oldest first.
    pending = sa.text("status = 'pending'")
    op.create_index('ix_payments_pending', 'payments', ['created_at'], postgresql_where=pending, sqlite_where=pending)


def downgrade() -> None:
    op.drop_index('ix_payments_pending', table_name='payments')
    for column in ('checked_at', 'qr_string', 'biller_code'):
        op.drop_column('payments', column)
    for column in ('expiry_noticed_at', 'removed_at'):
        op.drop_column('payment_methods', column)
