"""outbox.region, channel_identity.last_to: regional Twilio senders

``outbox.region``: the Kemendagri code of the recipient's region (the kelompok's desa, a
staff member's region), which picks the sender of a message the business starts;
``channel_identity.last_to``: the business number the address last wrote to, which a reply
inside WhatsApp's 24-hour window must come from. Both nullable: existing rows keep the
default sender, as before.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('region', sa.String(length=13), nullable=True))
    with op.batch_alter_table('channel_identity') as batch:
        batch.add_column(sa.Column('last_to', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_identity') as batch:
        batch.drop_column('last_to')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('region')
