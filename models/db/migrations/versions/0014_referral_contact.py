"""referral_contact, referral_service: the sistem sumber (referral directory)

The services a pendamping refers a family to (puskesmas, Dukcapil, the bank or agen for
KKS, sekolah, Dinas Sosial, P2TP2A or UPTD PPA...), per kecamatan or kabupaten, and the
case categories each serves. New tables only: nothing existing changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'referral_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('name_key', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('address', sa.String(length=200), nullable=True),
        sa.Column('notes', sa.String(length=300), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['region_id'], ['region.id'],
            name=op.f('fk_referral_contact_region_id_region'), ondelete='RESTRICT',
        ),
        sa.ForeignKeyConstraint(
            ['updated_by_id'], ['staff.id'],
            name=op.f('fk_referral_contact_updated_by_id_staff'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_contact')),
        sa.UniqueConstraint(
            'region_id', 'name_key', name=op.f('uq_referral_contact_region_id_name_key')
        ),
    )
    op.create_table(
        'referral_service',
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ['contact_id'], ['referral_contact.id'],
            name=op.f('fk_referral_service_contact_id_referral_contact'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('contact_id', 'category', name=op.f('pk_referral_service')),
    )
    with op.batch_alter_table('referral_service', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_referral_service_category'), ['category'], unique=False
        )


def downgrade() -> None:
    op.drop_table('referral_service')
    op.drop_table('referral_contact')
