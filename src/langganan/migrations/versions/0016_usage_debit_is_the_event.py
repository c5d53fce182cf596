"""one ledger: an accepted usage event is stored as its usage debit (one wallet_entries row keyed by the
event id) instead of a usage_events row beside its ledger entry

Each usage entry takes its event's body hash and reported time; a unique index on the event id among
usage entries replaces usage_events' primary key; usage_events is dropped. An accepted event without
its usage entry (what `langganan verify` reports as usage_not_debited) stops the upgrade: it would be
lost, and the books need a look first.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USAGE = sa.text("type = 'usage'")


def upgrade() -> None:
    with op.batch_alter_table('wallet_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_hash', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('occurred_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    lost = bind.execute(sa.text(
        "SELECT count(*) FROM usage_events u WHERE NOT EXISTS (SELECT 1 FROM wallet_entries e "
        "WHERE e.type = 'usage' AND e.reference = u.id)")).scalar()
    if lost:
        raise RuntimeError(f"{lost} accepted usage events have no usage debit in the ledger (langganan verify: "
                           "usage_not_debited); put the books right before upgrading")
    op.execute("UPDATE wallet_entries SET body_hash = u.body_hash, occurred_at = u.occurred_at "
               "FROM usage_events u WHERE wallet_entries.type = 'usage' AND wallet_entries.reference = u.id")
    op.create_index('ux_wallet_entries_usage_event', 'wallet_entries', ['reference'], unique=True,
                    postgresql_where=USAGE, sqlite_where=USAGE)
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_events_account')
    op.drop_table('usage_events')


def downgrade() -> None:
    op.create_table('usage_events',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('meter', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('body_hash', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index('ix_usage_events_account', ['account_id', 'created_at'], unique=False)
    op.execute("INSERT INTO usage_events (id, account_id, meter, quantity, amount, balance_after, body_hash, "
               "occurred_at, created_at) SELECT e.reference, w.account_id, e.meter, e.quantity, -e.amount, "
               "e.balance_after, COALESCE(e.body_hash, ''), e.occurred_at, e.created_at FROM wallet_entries e "
               "JOIN wallets w ON w.id = e.wallet_id WHERE e.type = 'usage'")
    op.drop_index('ux_wallet_entries_usage_event', table_name='wallet_entries',
                  postgresql_where=USAGE, sqlite_where=USAGE)
    with op.batch_alter_table('wallet_entries', schema=None) as batch_op:
        batch_op.drop_column('occurred_at')
        batch_op.drop_column('body_hash')
