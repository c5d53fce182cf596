"""tax_invoice_numbers: the number DJP's Coretax gave each exported tax invoice (and the one a replacement took the
place of), so that a credit note names the tax invoice it corrects

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'tax_invoice_numbers',
        sa.Column('invoice_id', sa.String(length=40), sa.ForeignKey('invoices.id'), primary_key=True),
        sa.Column('number', sa.String(length=17), nullable=False, unique=True),
        sa.Column('replaces', sa.String(length=17), nullable=True),
        sa.Column('recorded_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=320), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('tax_invoice_numbers')
