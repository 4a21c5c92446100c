"""kpm.erased_at, kpm.erasure_reason: a family's personal data erased (UU PDP 27/2022)

A family whose personal data was erased on request (``pendamping kpm erase``, or a
coordinator's /hapus_data) keeps its row under a pseudonym ("KPM terhapus #<id>"), so the
attendance, cases, graduation and commitment figures it is part of stay as they were;
``erased_at`` says since when (asked twice, the erasure is already done) and
``erasure_reason`` why, as the operator or coordinator gave it. NULL for every family
before this release.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-19 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kpm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erasure_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kpm', schema=None) as batch_op:
        batch_op.drop_column('erasure_reason')
        batch_op.drop_column('erased_at')
