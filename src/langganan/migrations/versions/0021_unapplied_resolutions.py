"""unapplied_payments: how held money was resolved by an operator (applied to an invoice, credited to a wallet
or refunded): when, by whom, why, and for a refund how it went back and the gateway's or bank's reference

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('resolved_at', 'resolved_by', 'resolution_reason', 'refund_method', 'refund_ref')


def upgrade() -> None:
    op.add_column('unapplied_payments', sa.Column('resolved_at', langganan.kit.db.UTCDateTime(timezone=True),
                                                  nullable=True))
    op.add_column('unapplied_payments', sa.Column('resolved_by', sa.String(length=200), nullable=True))
    op.add_column('unapplied_payments', sa.Column('resolution_reason', sa.String(length=500), nullable=True))
    op.add_column('unapplied_payments', sa.Column('refund_method', sa.String(length=20), nullable=True))
    op.add_column('unapplied_payments', sa.Column('refund_ref', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_column('unapplied_payments', column)
