"""subscriptions.anchor_time: the local time of day periods start at, so periods chained end to end
keep it across a DST gap; filled from each subscription's current period start

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000


def upgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchor_time', sa.Time(), nullable=True))
    subs = sa.table('subscriptions', sa.column('id', sa.String()), sa.column('account_id', sa.String()),
                    sa.column('current_period_start', langganan.kit.db.UTCDateTime()),
                    sa.column('anchor_time', sa.Time()))
    accounts = sa.table('accounts', sa.column('id', sa.String()), sa.column('timezone', sa.String()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(subs.c.id, subs.c.current_period_start, accounts.c.timezone)
                        .join(accounts, accounts.c.id == subs.c.account_id)).all()
    update = sa.update(subs).where(subs.c.id == sa.bindparam('sub_id')).values(anchor_time=sa.bindparam('at'))
    for i in range(0, len(rows), CHUNK):
        conn.execute(update, [{'sub_id': sub_id, 'at': _wall_time(start, tz)}
                              for sub_id, start, tz in rows[i:i + CHUNK]])


def _wall_time(start: datetime, tz: str):
    return start.astimezone(ZoneInfo(tz)).time()


def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('anchor_time')
