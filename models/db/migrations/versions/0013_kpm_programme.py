"""kpm_programme, graduation_assessment.gates_met: bansos komplementer and the gates

kpm_programme holds, per family and complementary programme (KIS/PBI-JKN, KIP/PIP,
Sembako/BPNT, a working KKS...), whether the family has it, needs it but lacks it, or does
not need it, with who recorded it last and when. graduation_assessment.gates_met says
whether an assessment met every gate in force when it was saved (by default the family's
stated willingness): a family without it is never "siap". Assessments saved before this
release had no gates; they are filled in from their "bersedia" tick, the default gate.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

STATUSES = ('punya', 'butuh', 'tidak_perlu')
DEFAULT_GATE = 'bersedia'
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        'kpm_programme',
        sa.Column('kpm_id', sa.Integer(), nullable=False),
        sa.Column('programme', sa.String(length=40), nullable=False),
        sa.Column(
            'status', sa.Enum(*STATUSES, name='programme_status', native_enum=False,
                              create_constraint=True, length=24), nullable=False,
        ),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['kpm_id'], ['kpm.id'], name=op.f('fk_kpm_programme_kpm_id_kpm'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['updated_by_id'], ['staff.id'],
            name=op.f('fk_kpm_programme_updated_by_id_staff'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('kpm_id', 'programme', name=op.f('pk_kpm_programme')),
    )
    with op.batch_alter_table('kpm_programme', schema=None) as batch_op:
        batch_op.create_index('ix_kpm_programme_status', ['status', 'kpm_id'], unique=False)
    with op.batch_alter_table('graduation_assessment', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('gates_met', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _gates_from_willingness()


def _gates_from_willingness() -> None:
    """gates_met = the assessment's "bersedia" tick, for the assessments already saved."""
    assessment = sa.table(
        'graduation_assessment',
        sa.column('id', sa.Integer()),
        sa.column('indicators', sa.JSON()),
        sa.column('gates_met', sa.Boolean()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(assessment.c.id, assessment.c.indicators))
    willing = [
        assessment_id
        for assessment_id, indicators in rows
        if isinstance(indicators, dict) and indicators.get(DEFAULT_GATE) is True
    ]
    for start in range(0, len(willing), BATCH):
        connection.execute(
            sa.update(assessment)
            .where(assessment.c.id.in_(willing[start:start + BATCH]))
            .values(gates_met=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('graduation_assessment', schema=None) as batch_op:
        batch_op.drop_column('gates_met')
    op.drop_table('kpm_programme')
