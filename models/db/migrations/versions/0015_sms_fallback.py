"""channel_identity.not_on_whatsapp_at, sms_switch_told_at; outbox.segments: SMS where
WhatsApp cannot reach

A WhatsApp address whose messages failed with "not on WhatsApp" carries the time of that
failure (its KPM's reminders go by SMS until they write from WhatsApp or their number
changes) and the time their pendamping was told of the switch; an SMS sent carries the
segments it took, counted per kabupaten and month and against the monthly budget (a
partial index: only SMS rows have segments). Nullable columns only: nothing existing
changes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

WHERE = sa.text("segments IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('not_on_whatsapp_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('sms_switch_told_at', sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments', sa.Integer(), nullable=True))
        batch_op.create_index(
            'ix_outbox_sms_sent', ['sent_at'], unique=False,
            sqlite_where=WHERE, postgresql_where=WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_sms_sent')
        batch_op.drop_column('segments')
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.drop_column('sms_switch_told_at')
        batch_op.drop_column('not_on_whatsapp_at')
