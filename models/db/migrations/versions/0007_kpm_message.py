"""kpm_message: what a KPM writes that is not an answer, for their pendamping

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATUSES = ('open', 'answered', 'done')


def upgrade() -> None:
    op.create_table(
        'kpm_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kpm_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=80), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('media_count', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            'status', sa.Enum(*STATUSES, name='kpm_message_status', native_enum=False,
                              create_constraint=True, length=24), nullable=False,
        ),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by_staff_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['kpm_id'], ['kpm.id'], name=op.f('fk_kpm_message_kpm_id_kpm'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['closed_by_staff_id'], ['staff.id'],
            name=op.f('fk_kpm_message_closed_by_staff_id_staff'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kpm_message')),
    )
    with op.batch_alter_table('kpm_message', schema=None) as batch_op:
        batch_op.create_index('ix_kpm_message_kpm_status', ['kpm_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_table('kpm_message')
