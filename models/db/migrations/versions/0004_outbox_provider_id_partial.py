"""outbox: the provider id index covers sent messages only

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

WHERE = sa.text("provider_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_provider_id')
        batch_op.create_index(
            'ix_outbox_provider_id', ['provider_id'], unique=False,
            sqlite_where=WHERE, postgresql_where=WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_provider_id')
        batch_op.create_index('ix_outbox_provider_id', ['provider_id'], unique=False)
