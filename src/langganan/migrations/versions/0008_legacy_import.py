"""legacy postpaid import: one record per migrated legacy account key

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('legacy_imports',
    sa.Column('account_key', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('row', sa.JSON(), nullable=False),
    sa.Column('waived_invoice_id', sa.String(length=40), nullable=False),
    sa.Column('imported_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['waived_invoice_id'], ['invoices.id'], ),
    sa.PrimaryKeyConstraint('account_key'),
    sa.UniqueConstraint('account_id')
    )


def downgrade() -> None:
    op.drop_table('legacy_imports')
