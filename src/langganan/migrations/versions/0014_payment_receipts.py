"""payment_receipts: one row per arrival of money (a gateway notification, a card charge's outcome, an
operator's confirmation), so `verify` can prove money received = applied + held; unapplied payments
can be applied later (an underpayment completed by more money: applied_at, applied_payment_id), and
are found by invoice. Receipts are filled in for money recorded before this migration: one per stored
gateway notification and one per succeeded card or manual payment.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import langganan.kit.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000


def upgrade() -> None:
    op.create_table('payment_receipts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=True),
    sa.Column('payment_id', sa.String(length=40), nullable=True),
    sa.Column('notification_id', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('received_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['notification_id'], ['gateway_notifications.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notification_id')
    )
    with op.batch_alter_table('unapplied_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied_at', langganan.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('applied_payment_id', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key('fk_unapplied_payments_applied_payment_id_payments', 'payments',
                                    ['applied_payment_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_unapplied_payments_invoice_id'), ['invoice_id'], unique=False)
    _fill_receipts()


def _fill_receipts() -> None:
    conn = op.get_bind()
    notes = sa.table('gateway_notifications', sa.column('id', sa.String()), sa.column('payload', sa.JSON()),
                     sa.column('received_at', langganan.kit.db.UTCDateTime()))
    pays = sa.table('payments', sa.column('id', sa.String()), sa.column('account_id', sa.String()),
                    sa.column('method', sa.String()), sa.column('status', sa.String()),
                    sa.column('amount', sa.BigInteger()), sa.column('currency', sa.String()),
                    sa.column('va_number', sa.String()), sa.column('updated_at', langganan.kit.db.UTCDateTime()))
    receipts = sa.table('payment_receipts', sa.column('id', sa.String()), sa.column('account_id', sa.String()),
                        sa.column('payment_id', sa.String()), sa.column('notification_id', sa.String()),
                        sa.column('amount', sa.BigInteger()), sa.column('currency', sa.String()),
                        sa.column('received_at', langganan.kit.db.UTCDateTime()))
    by_va = {row.va_number: row for row in conn.execute(
        sa.select(pays.c.id, pays.c.account_id, pays.c.va_number).where(pays.c.va_number.is_not(None)))}
    rows: list[dict[str, Any]] = []
    for note in conn.execute(sa.select(notes.c.id, notes.c.payload, notes.c.received_at)):
        payload = note.payload
        payment = by_va.get(payload.get('va_number'))
        rows.append({'id': 'rcp_' + note.id, 'account_id': payment.account_id if payment else None,
                     'payment_id': payment.id if payment else None, 'notification_id': note.id,
                     'amount': int(payload['amount']), 'currency': str(payload['currency']),
                     'received_at': note.received_at})
    for pay in conn.execute(sa.select(pays).where(pays.c.method.in_(('card', 'manual')),
                                                  pays.c.status == 'succeeded')):
        rows.append({'id': 'rcp_' + pay.id, 'account_id': pay.account_id, 'payment_id': pay.id,
                     'notification_id': None, 'amount': pay.amount, 'currency': pay.currency,
                     'received_at': pay.updated_at})
    for i in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(receipts), rows[i:i + CHUNK])


def downgrade() -> None:
    with op.batch_alter_table('unapplied_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unapplied_payments_invoice_id'))
        batch_op.drop_constraint('fk_unapplied_payments_applied_payment_id_payments', type_='foreignkey')
        batch_op.drop_column('applied_payment_id')
        batch_op.drop_column('applied_at')
    op.drop_table('payment_receipts')
