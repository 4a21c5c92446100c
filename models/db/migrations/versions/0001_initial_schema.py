"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:12:01.186835
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=80), nullable=False),
    sa.Column('flow', sa.String(length=40), nullable=True),
    sa.Column('step', sa.String(length=40), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation')),
    sa.UniqueConstraint('address', name=op.f('uq_conversation_address'))
    )
    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('whatsapp', 'telegram', 'sms', 'console', 'none', name='channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_message')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_inbound_message_channel_external_id'))
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_message_received_at'), ['received_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('whatsapp', 'telegram', 'sms', 'console', 'none', name='channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('address', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'queued', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'cancelled', name='outbox_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=80), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at', 'priority'], unique=False)
        batch_op.create_index('ix_outbox_provider_id', ['provider_id'], unique=False)

    op.create_table('region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('provinsi', 'kabupaten', 'kecamatan', 'desa', name='region_level', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('code', sa.String(length=13), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=120), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=40), nullable=True),
    sa.CheckConstraint("(level = 'provinsi') = (parent_id IS NULL)", name=op.f('ck_region_parent_by_level')),
    sa.ForeignKeyConstraint(['parent_id'], ['region.id'], name=op.f('fk_region_parent_id_region'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
    sa.UniqueConstraint('code', name=op.f('uq_region_code')),
    sa.UniqueConstraint('parent_id', 'level', 'name_key', name=op.f('uq_region_parent_id_level_name_key'))
    )
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('pendamping', 'supervisor', 'koordinator', 'admin', name='staff_role', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=120), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_staff_region_id_region'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['staff.id'], name=op.f('fk_staff_supervisor_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('role', 'name_key', name=op.f('uq_staff_role_name_key'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_staff_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_staff_id'], ['staff.id'], name=op.f('fk_audit_log_actor_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('kelompok',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=120), nullable=False),
    sa.Column('desa_id', sa.Integer(), nullable=False),
    sa.Column('pendamping_id', sa.Integer(), nullable=True),
    sa.Column('ketua_kpm_id', sa.Integer(), nullable=True),
    sa.Column('rule_weekday', sa.Integer(), nullable=True),
    sa.Column('rule_week_of_month', sa.Integer(), nullable=True),
    sa.Column('rule_time', sa.Time(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('group_chat_address', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rule_week_of_month IN (-1, 1, 2, 3, 4)', name=op.f('ck_kelompok_rule_week')),
    sa.CheckConstraint('rule_weekday BETWEEN 0 AND 6', name=op.f('ck_kelompok_rule_weekday')),
    sa.ForeignKeyConstraint(['desa_id'], ['region.id'], name=op.f('fk_kelompok_desa_id_region'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['pendamping_id'], ['staff.id'], name=op.f('fk_kelompok_pendamping_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kelompok')),
    sa.UniqueConstraint('desa_id', 'name_key', name=op.f('uq_kelompok_desa_id_name_key')),
    sa.UniqueConstraint('group_chat_address', name=op.f('uq_kelompok_group_chat_address'))
    )
    with op.batch_alter_table('kelompok', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kelompok_pendamping_id'), ['pendamping_id'], unique=False)

    op.create_table('kpm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_pkh', sa.String(length=40), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('nama_pengurus', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=True),
    sa.Column('preferred_channel', sa.Enum('whatsapp', 'telegram', 'sms', 'console', 'none', name='channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('kelompok_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('aktif', 'graduasi_alamiah', 'graduasi_mandiri', 'keluar', name='kpm_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(nik) = 16', name=op.f('ck_kpm_nik_length')),
    sa.ForeignKeyConstraint(['kelompok_id'], ['kelompok.id'], name=op.f('fk_kpm_kelompok_id_kelompok'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpm')),
    sa.UniqueConstraint('id_pkh', name=op.f('uq_kpm_id_pkh'))
    )
    with op.batch_alter_table('kpm', schema=None) as batch_op:
        batch_op.create_index('ix_kpm_kelompok_status', ['kelompok_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_kpm_nik'), ['nik'], unique=False)
        batch_op.create_index(batch_op.f('ix_kpm_phone'), ['phone'], unique=False)

    # kelompok and kpm refer to each other: the ketua's key is added once both exist.
    with op.batch_alter_table('kelompok', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_kelompok_ketua_kpm_id_kpm'), 'kpm', ['ketua_kpm_id'], ['id'],
            ondelete='SET NULL',
        )

    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kelompok_id', sa.Integer(), nullable=False),
    sa.Column('meeting_date', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('modul', sa.Integer(), nullable=True),
    sa.Column('sesi', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('planned', 'held', 'cancelled', name='meeting_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('plan_key', sa.String(length=16), nullable=True),
    sa.Column('attendance_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_meeting_created_by_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['kelompok_id'], ['kelompok.id'], name=op.f('fk_meeting_kelompok_id_kelompok'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    sa.UniqueConstraint('kelompok_id', 'plan_key', name=op.f('uq_meeting_kelompok_id_plan_key'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_kelompok_date', ['kelompok_id', 'meeting_date'], unique=False)
        batch_op.create_index('ix_meeting_status_starts', ['status', 'starts_at'], unique=False)

    op.create_table('attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kpm_id', sa.Integer(), nullable=False),
    sa.Column('mark', sa.Enum('hadir', 'izin', 'sakit', 'alpa', name='attendance_mark', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_attendance_kpm_id_kpm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_attendance_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_attendance_recorded_by_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('meeting_id', 'kpm_id', name=op.f('uq_attendance_meeting_id_kpm_id'))
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_kpm', ['kpm_id', 'meeting_id'], unique=False)

    op.create_table('case_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kpm_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.Enum('biasa', 'mendesak', name='case_severity', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('baru', 'tindak_lanjut', 'selesai', name='case_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('follow_up_date', sa.Date(), nullable=True),
    sa.Column('escalated_to_id', sa.Integer(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['escalated_to_id'], ['staff.id'], name=op.f('fk_case_note_escalated_to_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_case_note_kpm_id_kpm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_case_note_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_note'))
    )
    with op.batch_alter_table('case_note', schema=None) as batch_op:
        batch_op.create_index('ix_case_note_follow_up', ['status', 'follow_up_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_note_kpm_id'), ['kpm_id'], unique=False)
        batch_op.create_index('ix_case_note_staff_status', ['staff_id', 'status'], unique=False)

    op.create_table('channel_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.Enum('whatsapp', 'telegram', 'sms', 'console', 'none', name='channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('kpm_id', sa.Integer(), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('NOT (staff_id IS NOT NULL AND kpm_id IS NOT NULL)', name=op.f('ck_channel_identity_one_owner')),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_channel_identity_kpm_id_kpm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_channel_identity_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_identity')),
    sa.UniqueConstraint('address', name=op.f('uq_channel_identity_address'))
    )
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_identity_kpm_id'), ['kpm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_identity_staff_id'), ['staff_id'], unique=False)

    op.create_table('graduation_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kpm_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('indicators', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_graduation_assessment_kpm_id_kpm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_graduation_assessment_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_graduation_assessment'))
    )
    with op.batch_alter_table('graduation_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_graduation_assessment_kpm_id'), ['kpm_id'], unique=False)

    op.create_table('komponen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kpm_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_komponen_kpm_id_kpm'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_komponen'))
    )
    with op.batch_alter_table('komponen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_komponen_kpm_id'), ['kpm_id'], unique=False)

    op.create_table('rsvp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kpm_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Enum('hadir', 'tidak', name='rsvp_answer', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kpm_id'], ['kpm.id'], name=op.f('fk_rsvp_kpm_id_kpm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_rsvp_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rsvp')),
    sa.UniqueConstraint('meeting_id', 'kpm_id', name=op.f('uq_rsvp_meeting_id_kpm_id'))
    )
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rsvp_kpm_id'), ['kpm_id'], unique=False)

    op.create_table('case_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('baru', 'tindak_lanjut', 'selesai', name='case_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_note.id'], name=op.f('fk_case_update_case_id_case_note'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_case_update_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_update'))
    )
    with op.batch_alter_table('case_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_update_case_id'), ['case_id'], unique=False)

    op.create_table('invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_identity_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_invite_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_by_identity_id'], ['channel_identity.id'], name=op.f('fk_invite_used_by_identity_id_channel_identity'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invite_code_hash'))
    )
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_staff_id'), ['staff_id'], unique=False)

    op.create_table('media_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('media_ref', sa.String(length=500), nullable=False),
    sa.Column('content_type', sa.String(length=80), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(meeting_id IS NULL) <> (case_id IS NULL)', name=op.f('ck_media_attachment_one_owner')),
    sa.ForeignKeyConstraint(['case_id'], ['case_note.id'], name=op.f('fk_media_attachment_case_id_case_note'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_media_attachment_created_by_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_media_attachment_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_attachment'))
    )
    with op.batch_alter_table('media_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_attachment_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_attachment_meeting_id'), ['meeting_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('kelompok', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_kelompok_ketua_kpm_id_kpm'), type_='foreignkey')

    with op.batch_alter_table('media_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_attachment_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_media_attachment_case_id'))

    op.drop_table('media_attachment')
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invite_staff_id'))

    op.drop_table('invite')
    with op.batch_alter_table('case_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_update_case_id'))

    op.drop_table('case_update')
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rsvp_kpm_id'))

    op.drop_table('rsvp')
    with op.batch_alter_table('komponen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_komponen_kpm_id'))

    op.drop_table('komponen')
    with op.batch_alter_table('graduation_assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_graduation_assessment_kpm_id'))

    op.drop_table('graduation_assessment')
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_identity_staff_id'))
        batch_op.drop_index(batch_op.f('ix_channel_identity_kpm_id'))

    op.drop_table('channel_identity')
    with op.batch_alter_table('case_note', schema=None) as batch_op:
        batch_op.drop_index('ix_case_note_staff_status')
        batch_op.drop_index(batch_op.f('ix_case_note_kpm_id'))
        batch_op.drop_index('ix_case_note_follow_up')

    op.drop_table('case_note')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_kpm')

    op.drop_table('attendance')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_status_starts')
        batch_op.drop_index('ix_meeting_kelompok_date')

    op.drop_table('meeting')
    with op.batch_alter_table('kpm', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpm_phone'))
        batch_op.drop_index(batch_op.f('ix_kpm_nik'))
        batch_op.drop_index('ix_kpm_kelompok_status')

    op.drop_table('kpm')
    with op.batch_alter_table('kelompok', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kelompok_pendamping_id'))

    op.drop_table('kelompok')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('staff')
    op.drop_table('region')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_provider_id')
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_received_at'))

    op.drop_table('inbound_message')
    op.drop_table('conversation')
