"""renewal dunning, trials, promotions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('promotions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('percent_off', sa.Integer(), nullable=True),
    sa.Column('amount_off', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('plans', sa.JSON(), nullable=False),
    sa.Column('ends_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_months', sa.Integer(), nullable=True),
    sa.Column('max_redemptions', sa.Integer(), nullable=True),
    sa.Column('redemptions', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('promotion_redemptions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('promotion_id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('ends_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.Column('ended_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('promotion_id', 'account_id')
    )
    with op.batch_alter_table('promotion_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_redemptions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_redemptions_promotion_id'), ['promotion_id'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_renew', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('payment_method_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('renewal_invoiced_for', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('renewal_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('renewal_payment_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('charge_claimed_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('promotion_redemption_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('promotion_ends_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_cursor', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_due_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_subscriptions_next_due_at'), ['next_due_at'], unique=False)
        batch_op.create_foreign_key('fk_subscriptions_payment_method_id', 'payment_methods', ['payment_method_id'], ['id'])
        batch_op.create_foreign_key('fk_subscriptions_promotion_redemption_id', 'promotion_redemptions', ['promotion_redemption_id'], ['id'])

    # Existing subscriptions are due at once: the runner's first look issues what is due by now (a
    # renewal invoice inside its lead time, say) and sets next_due_at from their agenda. Notices that
    # fell due before this upgrade count as sent (due_cursor = the engine clock's now), so nobody gets a
    # late "3 days left" reminder.
    bind = op.get_bind()
    clock = bind.execute(sa.text("SELECT offset_seconds, frozen_at FROM engine_clock WHERE id = 1")).first()
    now = datetime.now(UTC)
    if clock is not None and clock.frozen_at is not None:
        frozen = clock.frozen_at if isinstance(clock.frozen_at, datetime) else datetime.fromisoformat(clock.frozen_at)
        now = frozen if frozen.tzinfo else frozen.replace(tzinfo=UTC)
    elif clock is not None:
        now += timedelta(seconds=clock.offset_seconds or 0)
    subscriptions = sa.table("subscriptions", sa.column("next_due_at", langganan.kit.db.UTCDateTime(timezone=True)),
                             sa.column("due_cursor", langganan.kit.db.UTCDateTime(timezone=True)),
                             sa.column("current_period_start", langganan.kit.db.UTCDateTime(timezone=True)))
    op.execute(subscriptions.update().values(next_due_at=subscriptions.c.current_period_start, due_cursor=now))


def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_subscriptions_promotion_redemption_id', type_='foreignkey')
        batch_op.drop_constraint('fk_subscriptions_payment_method_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_subscriptions_next_due_at'))
        for column in ('next_due_at', 'due_cursor', 'promotion_ends_at', 'promotion_redemption_id',
                       'charge_claimed_at', 'renewal_payment_id', 'renewal_attempts', 'renewal_invoiced_for',
                       'payment_method_id', 'auto_renew'):
            batch_op.drop_column(column)

    with op.batch_alter_table('promotion_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_redemptions_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_redemptions_account_id'))

    op.drop_table('promotion_redemptions')
    op.drop_table('promotions')
