"""card_setups: a card setup a customer began with the gateway (its hosted page or its tokenising card
registration), so the customer's return is matched to their own account, once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('card_setups',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('session_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('created_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payment_method_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_methods.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_card_setups_account_id'), 'card_setups', ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_card_setups_account_id'), table_name='card_setups')
    op.drop_table('card_setups')
