"""kpm.left_on and kpm.exit_reason: when and why a KPM left the programme

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

REASONS = (
    'meninggal', 'pindah', 'mengundurkan_diri', 'tidak_memenuhi_syarat',
    'graduasi_alamiah', 'graduasi_mandiri',
)


def upgrade() -> None:
    with op.batch_alter_table('kpm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_on', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'exit_reason',
                sa.Enum(*REASONS, name='exit_reason', native_enum=False, create_constraint=True,
                        length=24),
                nullable=True,
            )
        )
    # A KPM who graduated before this release left on its graduation day, for that reason.
    op.execute(
        "UPDATE kpm SET left_on = graduated_on, exit_reason = status "
        "WHERE status IN ('graduasi_alamiah', 'graduasi_mandiri')"
    )


def downgrade() -> None:
    with op.batch_alter_table('kpm', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_kpm_exit_reason'), type_='check')
        batch_op.drop_column('exit_reason')
        batch_op.drop_column('left_on')
