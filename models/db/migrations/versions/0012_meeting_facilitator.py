"""meeting.facilitator: held with the pendamping (the default) or by the ketua alone

A meeting held by the ketua kelompok without the pendamping is an obligation the
pendamping missed; the coordinator's digest counts them. Every meeting recorded before
this release was facilitated by the pendamping (the server default fills them in).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

FACILITATORS = ('pendamping', 'ketua')


def upgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'facilitator',
                sa.Enum(*FACILITATORS, name='facilitator', native_enum=False,
                        create_constraint=True, length=24),
                server_default='pendamping',
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_meeting_facilitator'), type_='check')
        batch_op.drop_column('facilitator')
