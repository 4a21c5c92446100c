"""outbox: the due index leads with the channel after the status

A dispatcher sends only the channels it has a sender for, so both its claim and its
"when is the next message due" ask per channel; with the channel second in the index
each is a range scan of that channel's rows, however many rows of a channel no process
sends are waiting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index(
            'ix_outbox_due', ['status', 'channel', 'next_attempt_at', 'priority'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index(
            'ix_outbox_due', ['status', 'next_attempt_at', 'priority'], unique=False
        )
