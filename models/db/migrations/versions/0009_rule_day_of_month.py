"""kelompok.rule_day_of_month: a meeting rule by date of the month ("tiap tanggal 10")

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 13:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kelompok', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_day_of_month', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kelompok', schema=None) as batch_op:
        batch_op.drop_column('rule_day_of_month')
