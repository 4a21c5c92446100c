"""send_pace: each sender's next free send slot, shared by every dispatcher process

Several `pendamping scheduler` processes on PostgreSQL keep together to a sender's rate by
reserving blocks of send slots from this row (see models/messaging/pace.py). A new table
only: nothing existing changes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'send_pace',
        sa.Column('sender', sa.String(length=80), nullable=False),
        sa.Column('next_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('sender', name=op.f('pk_send_pace')),
    )


def downgrade() -> None:
    op.drop_table('send_pace')
