"""Emails people act on: each email delivery keeps its HTML part, its Cc and the invoice it is about (its PDF is
attached when the email is sent, from the invoice); a feed item may carry a dedupe key (one reminder per invoice
and day, one "moved to Free" per period); a portal sign-in link may open the portal on an invoice (emailed pay
links)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('cc', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('html', sa.Text(), nullable=True))
        batch.add_column(sa.Column('invoice_id', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('attach_invoice', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch.create_index('ux_notifications_dedupe', ['account_id', 'dedupe_key'], unique=True)
    with op.batch_alter_table('portal_links') as batch:
        batch.add_column(sa.Column('invoice_id', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('portal_links') as batch:
        batch.drop_column('invoice_id')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_index('ux_notifications_dedupe')
        batch.drop_column('dedupe_key')
    with op.batch_alter_table('deliveries') as batch:
        for column in ('attach_invoice', 'invoice_id', 'html', 'cc'):
            batch.drop_column(column)
