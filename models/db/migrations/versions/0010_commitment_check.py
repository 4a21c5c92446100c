"""commitment_check: the pendamping's commitment verification (verifikasi komitmen)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

RESULTS = ('memenuhi', 'tidak_memenuhi')


def upgrade() -> None:
    op.create_table(
        'commitment_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('komponen_id', sa.Integer(), nullable=False),
        sa.Column('kpm_id', sa.Integer(), nullable=False),
        sa.Column('commitment', sa.String(length=40), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column(
            'result', sa.Enum(*RESULTS, name='commitment_result', native_enum=False,
                              create_constraint=True, length=24), nullable=False,
        ),
        sa.Column('reason', sa.String(length=40), nullable=True),
        sa.Column('evidence_ref', sa.String(length=500), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['komponen_id'], ['komponen.id'],
            name=op.f('fk_commitment_check_komponen_id_komponen'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['kpm_id'], ['kpm.id'], name=op.f('fk_commitment_check_kpm_id_kpm'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['recorded_by_id'], ['staff.id'],
            name=op.f('fk_commitment_check_recorded_by_id_staff'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_check')),
        sa.UniqueConstraint(
            'komponen_id', 'commitment', 'period_start',
            name=op.f('uq_commitment_check_komponen_id_commitment_period_start'),
        ),
    )
    with op.batch_alter_table('commitment_check', schema=None) as batch_op:
        batch_op.create_index(
            'ix_commitment_check_kpm_period', ['kpm_id', 'period_start'], unique=False
        )


def downgrade() -> None:
    op.drop_table('commitment_check')
