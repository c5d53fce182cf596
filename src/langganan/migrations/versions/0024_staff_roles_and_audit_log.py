"""staff_users.role (existing staff become owners) and audit_entries: every operator action and every API call
that changes money or plans, with who, what, when, why, before and after

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = langganan.kit.db.UTCDateTime(timezone=True)
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('role', sa.String(length=20), nullable=False, server_default='owner'))
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('at', when, nullable=False),
        sa.Column('actor_kind', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.String(length=40), nullable=False),
        sa.Column('actor_label', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=80), nullable=False),
        sa.Column('target_type', sa.String(length=40), nullable=False),
        sa.Column('target_id', sa.String(length=40), nullable=False),
        sa.Column('account_id', sa.String(length=40), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
    )
    op.create_index('ix_audit_entries_at', 'audit_entries', ['at'])
    op.create_index('ix_audit_entries_account', 'audit_entries', ['account_id', 'at'])
    op.create_index('ix_audit_entries_actor', 'audit_entries', ['actor_id', 'at'])


def downgrade() -> None:
    op.drop_table('audit_entries')
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('role')
