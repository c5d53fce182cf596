"""bank_statements, bank_statement_lines: imported bank statement files and their credit lines, each line
once by its checksum (issue 15, statement reconciliation)

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_statements',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('bank_account', sa.String(length=40), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('imported_by', sa.String(length=200), nullable=True),
    sa.Column('imported_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('bank_statement_lines',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('statement_id', sa.String(length=40), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('raw', sa.String(length=2000), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=True),
    sa.Column('duplicate_of', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('matched_by', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=True),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('payment_id', sa.String(length=40), nullable=True),
    sa.Column('receipt_id', sa.String(length=40), nullable=True),
    sa.Column('unapplied_payment_id', sa.String(length=40), nullable=True),
    sa.Column('assigned_by', sa.String(length=200), nullable=True),
    sa.Column('assigned_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of'], ['bank_statement_lines.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.ForeignKeyConstraint(['receipt_id'], ['payment_receipts.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], ),
    sa.ForeignKeyConstraint(['unapplied_payment_id'], ['unapplied_payments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checksum'),
    sa.UniqueConstraint('statement_id', 'line')
    )
    op.create_index(op.f('ix_bank_statement_lines_invoice_id'), 'bank_statement_lines', ['invoice_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_bank_statement_lines_invoice_id'), table_name='bank_statement_lines')
    op.drop_table('bank_statement_lines')
    op.drop_table('bank_statements')
