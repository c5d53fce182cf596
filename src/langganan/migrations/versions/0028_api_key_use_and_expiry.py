"""api_keys: when a key was last used (kept to the minute), when a rotated key stops working, and the key that
replaced it

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = langganan.kit.db.UTCDateTime(timezone=True)
    with op.batch_alter_table('api_keys') as batch:
        batch.add_column(sa.Column('last_used_at', when, nullable=True))
        batch.add_column(sa.Column('expires_at', when, nullable=True))
        batch.add_column(sa.Column('replaced_by', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_keys') as batch:
        batch.drop_column('replaced_by')
        batch.drop_column('expires_at')
        batch.drop_column('last_used_at')
