"""auto_top_ups: a wallet's auto top-up (threshold, target, card, monthly cap) and its state (the one recharge
in flight, the last one, the month's total, paused after a decline)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = langganan.kit.db.UTCDateTime(timezone=True)
    op.create_table(
        'auto_top_ups',
        sa.Column('wallet_id', sa.String(length=40), sa.ForeignKey('wallets.id'), primary_key=True),
        sa.Column('account_id', sa.String(length=40), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('threshold', sa.BigInteger(), nullable=False),
        sa.Column('target', sa.BigInteger(), nullable=False),
        sa.Column('payment_method_id', sa.String(length=40), sa.ForeignKey('payment_methods.id'), nullable=True),
        sa.Column('monthly_cap', sa.BigInteger(), nullable=True),
        sa.Column('month', sa.String(length=7), nullable=True),
        sa.Column('month_total', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('invoice_id', sa.String(length=40), sa.ForeignKey('invoices.id'), nullable=True),
        sa.Column('last_at', when, nullable=True),
        sa.Column('paused_at', when, nullable=True),
        sa.Column('updated_at', when, nullable=False),
    )


def downgrade() -> None:
    op.drop_table('auto_top_ups')
