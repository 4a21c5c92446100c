"""media_file: photos, voice notes and documents people send, fetched and kept by us

Until now a photo was kept only as the provider's reference (a Twilio ``MediaUrl`` or a
Telegram ``file_id``) in ``media_attachment.media_ref``. A ``media_file`` row is made for
every file that arrives, with that reference (``provider_ref``, unique): it is the fetch's
job (status, attempts, next try, last error) and, once fetched, our copy (SHA-256, size,
the type found from the content, the storage key, the EXIF time and location). Existing
attachments keep their reference; they get no row (nothing to fetch them with is known).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-20 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

CHANNELS = ('whatsapp', 'telegram', 'sms', 'console', 'none')
STATUSES = ('pending', 'stored', 'refused', 'failed')


def upgrade() -> None:
    op.create_table('media_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum(*CHANNELS, name='channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('address', sa.String(length=80), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=True),
    sa.Column('provider_ref', sa.String(length=500), nullable=False),
    sa.Column('provider_type', sa.String(length=120), nullable=True),
    sa.Column('kpm_id', sa.Integer(), nullable=True),
    sa.Column('kpm_message_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum(*STATUSES, name='media_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=80), nullable=True),
    sa.Column('storage_key', sa.String(length=200), nullable=True),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('provider_delete', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('provider_deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_media_file_kpm_id_kpm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['kpm_message_id'], ['kpm_message.id'], name=op.f('fk_media_file_kpm_message_id_kpm_message'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_file')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_media_file_provider_ref'))
    )
    with op.batch_alter_table('media_file', schema=None) as batch_op:
        batch_op.create_index('ix_media_file_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_file_kpm_id'), ['kpm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_file_kpm_message_id'), ['kpm_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_file_sha256'), ['sha256'], unique=False)
        batch_op.create_index(
            'ix_media_file_provider_delete', ['next_attempt_at'], unique=False,
            sqlite_where=sa.text('provider_delete'), postgresql_where=sa.text('provider_delete'),
        )


def downgrade() -> None:
    with op.batch_alter_table('media_file', schema=None) as batch_op:
        batch_op.drop_index('ix_media_file_provider_delete')
        batch_op.drop_index(batch_op.f('ix_media_file_sha256'))
        batch_op.drop_index(batch_op.f('ix_media_file_kpm_message_id'))
        batch_op.drop_index(batch_op.f('ix_media_file_kpm_id'))
        batch_op.drop_index('ix_media_file_due')
    op.drop_table('media_file')
