"""inbox: every inbound message stored before it is acknowledged

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

CHANNELS = ('whatsapp', 'telegram', 'sms', 'console', 'none')
STATUSES = ('pending', 'processing', 'done', 'failed')


def upgrade() -> None:
    op.create_table(
        'inbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(
            'channel', sa.Enum(*CHANNELS, name='channel', native_enum=False, create_constraint=True,
                               length=24), nullable=False,
        ),
        sa.Column('external_id', sa.String(length=120), nullable=False),
        sa.Column('address', sa.String(length=80), nullable=False),
        sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
        sa.Column(
            'status', sa.Enum(*STATUSES, name='inbox_status', native_enum=False,
                              create_constraint=True, length=24), nullable=False,
        ),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
        sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_inbox_channel_external_id')),
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_inbox_address', ['address', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_done_at'), ['done_at'], unique=False)


def downgrade() -> None:
    op.drop_table('inbox')
