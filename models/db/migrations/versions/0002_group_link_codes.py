"""group link codes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:54:23.459863
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kelompok_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['kelompok_id'], ['kelompok.id'], name=op.f('fk_group_link_code_kelompok_id_kelompok'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_group_link_code_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_link_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_group_link_code_code_hash'))
    )
    with op.batch_alter_table('group_link_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_link_code_kelompok_id'), ['kelompok_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('group_link_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_link_code_kelompok_id'))

    op.drop_table('group_link_code')
