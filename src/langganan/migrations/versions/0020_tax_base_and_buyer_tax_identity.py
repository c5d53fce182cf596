"""invoices: the tax base (DPP) the PPN rate applied to, filled in on existing invoices with what they were
taxed on (the price after discounts); accounts: the buyer's tax identity (buyer type, NPWP, NIK, NITKU,
passport) for Coretax tax invoices

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT_COLUMNS = (('buyer_type', 20), ('npwp', 16), ('nik', 16), ('nitku', 22), ('passport', 40))


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): instant on both databases, no table rebuilt.
    op.add_column('invoices', sa.Column('tax_base', sa.BigInteger(), nullable=True))
    op.execute("UPDATE invoices SET tax_base = CASE WHEN subtotal > discount THEN subtotal - discount ELSE 0 END")
    for name, length in ACCOUNT_COLUMNS:
        op.add_column('accounts', sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(ACCOUNT_COLUMNS):
        op.drop_column('accounts', name)
    op.drop_column('invoices', 'tax_base')
