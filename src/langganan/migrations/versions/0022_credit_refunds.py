"""credit_refunds: how each credit note's money went back (through the gateway, to a wallet or by hand), claimed
before a gateway refund is asked for, with its reference and what it moved in a wallet

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'credit_refunds',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('credit_note_id', sa.String(length=40), nullable=False),
        sa.Column('invoice_id', sa.String(length=40), nullable=False),
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=True),
        sa.Column('payment_id', sa.String(length=40), nullable=True),
        sa.Column('wallet', sa.String(length=20), nullable=True),
        sa.Column('wallet_amount', sa.BigInteger(), nullable=False),
        sa.Column('requested_by', sa.String(length=200), nullable=False),
        sa.Column('failure_code', sa.String(length=60), nullable=True),
        sa.Column('created_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id']),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('credit_note_id'),
    )
    op.create_index('ix_credit_refunds_invoice_id', 'credit_refunds', ['invoice_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_credit_refunds_invoice_id', table_name='credit_refunds')
    op.drop_table('credit_refunds')
