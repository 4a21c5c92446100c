"""attendance (meeting_id, mark): a meeting's marks counted from the index alone

The digest's attendance rates count hadir among a scope's marks of six months (tens of
thousands of rows per coordinator); with the mark in the index no row is read
(bench/digest.py: that statement 16 -> 8 ms on SQLite).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_meeting_mark', ['meeting_id', 'mark'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_meeting_mark')
