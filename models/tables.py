"""The tables: regions, people, groups, meetings, cases, messaging and audit.

Enumerations are stored as short strings with CHECK constraints (portable between
SQLite and PostgreSQL, readable in a database shell). Timestamps are UTC
(:class:`UTCDateTime`); dates that a person reads (a meeting day, a birth date) are
plain local dates.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, utcnow


def _enum(enum_type: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_type,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
    )


class RegionLevel(StrEnum):
    PROVINSI = "provinsi"
    KABUPATEN = "kabupaten"
    KECAMATAN = "kecamatan"
    DESA = "desa"


class StaffRole(StrEnum):
    PENDAMPING = "pendamping"
    SUPERVISOR = "supervisor"
    KOORDINATOR = "koordinator"
    ADMIN = "admin"


class KpmStatus(StrEnum):
    AKTIF = "aktif"
    GRADUASI_ALAMIAH = "graduasi_alamiah"
    GRADUASI_MANDIRI = "graduasi_mandiri"
    KELUAR = "keluar"


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    SMS = "sms"
    CONSOLE = "console"
    NONE = "none"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class AttendanceMark(StrEnum):
    HADIR = "hadir"
    IZIN = "izin"
    SAKIT = "sakit"
    ALPA = "alpa"


class RsvpAnswer(StrEnum):
    HADIR = "hadir"
    TIDAK = "tidak"


class CaseSeverity(StrEnum):
    BIASA = "biasa"
    MENDESAK = "mendesak"


class CaseStatus(StrEnum):
    BARU = "baru"
    TINDAK_LANJUT = "tindak_lanjut"
    SELESAI = "selesai"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    CANCELLED = "cancelled"


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class Region(Base):
    """A province, kabupaten/kota, kecamatan or desa; the time zone is set on provinces."""

    __tablename__ = "region"
    __table_args__ = (
        UniqueConstraint("parent_id", "level", "name_key"),
        CheckConstraint("(level = 'provinsi') = (parent_id IS NULL)", name="parent_by_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[RegionLevel] = mapped_column(_enum(RegionLevel, "region_level"))
    code: Mapped[str | None] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    timezone: Mapped[str | None] = mapped_column(String(40))


class Staff(Base):
    """Pendamping, supervisor, koordinator or admin, with the scope they oversee."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("role", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="SET NULL"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invite(Base):
    """A one-time code linking a chat address to a staff member; only its hash is kept."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="SET NULL")
    )


class Kelompok(Base):
    """A group of 10-30 KPM that meets monthly; the meeting rule is stored in parts."""

    __tablename__ = "kelompok"
    __table_args__ = (
        UniqueConstraint("desa_id", "name_key"),
        CheckConstraint("rule_weekday BETWEEN 0 AND 6", name="rule_weekday"),
        CheckConstraint("rule_week_of_month IN (-1, 1, 2, 3, 4)", name="rule_week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    desa_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    pendamping_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    ketua_kpm_id: Mapped[int | None] = mapped_column(
        ForeignKey("kpm.id", ondelete="SET NULL", use_alter=True)
    )
    rule_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    rule_week_of_month: Mapped[int | None] = mapped_column(Integer)  # 1-4, -1 = last
    rule_time: Mapped[time | None] = mapped_column(Time())
    place: Mapped[str | None] = mapped_column(String(200))
    group_chat_address: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Kpm(Base):
    """A beneficiary family, represented by its pengurus (caregiver)."""

    __tablename__ = "kpm"
    __table_args__ = (
        CheckConstraint("length(nik) = 16", name="nik_length"),
        Index("ix_kpm_kelompok_status", "kelompok_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    id_pkh: Mapped[str] = mapped_column(String(40), unique=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    nama_pengurus: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16), index=True)  # E.164
    preferred_channel: Mapped[Channel] = mapped_column(
        _enum(Channel, "channel"), default=Channel.WHATSAPP
    )
    kelompok_id: Mapped[int | None] = mapped_column(ForeignKey("kelompok.id", ondelete="SET NULL"))
    status: Mapped[KpmStatus] = mapped_column(
        _enum(KpmStatus, "kpm_status"), default=KpmStatus.AKTIF
    )
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    graduated_on: Mapped[date | None] = mapped_column(Date())  # when status became graduasi
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Komponen(Base):
    """An eligible family member; its end date is given or computed from the birth date."""

    __tablename__ = "komponen"

    id: Mapped[int] = mapped_column(primary_key=True)
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    birth_date: Mapped[date | None] = mapped_column(Date())
    end_date: Mapped[date | None] = mapped_column(Date())


class ChannelIdentity(Base):
    """A chat address (``telegram:123``, ``whatsapp:+62...``) and who it belongs to."""

    __tablename__ = "channel_identity"
    __table_args__ = (
        CheckConstraint("NOT (staff_id IS NOT NULL AND kpm_id IS NOT NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(80), unique=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    kpm_id: Mapped[int | None] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Meeting(Base):
    """A P2K2 session of a kelompok; ``starts_at`` is UTC, ``meeting_date`` is local."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("kelompok_id", "plan_key"),
        Index("ix_meeting_kelompok_date", "kelompok_id", "meeting_date"),
        Index("ix_meeting_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kelompok_id: Mapped[int] = mapped_column(ForeignKey("kelompok.id", ondelete="CASCADE"))
    meeting_date: Mapped[date] = mapped_column(Date())
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(String(200))
    modul: Mapped[int | None] = mapped_column(Integer)
    sesi: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[MeetingStatus] = mapped_column(
        _enum(MeetingStatus, "meeting_status"), default=MeetingStatus.PLANNED
    )
    plan_key: Mapped[str | None] = mapped_column(String(16))  # "2026-12" when planned by rule
    attendance_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MediaAttachment(Base):
    """Evidence: a meeting photo or a case photo, kept as a channel reference or URL."""

    __tablename__ = "media_attachment"
    __table_args__ = (
        CheckConstraint("(meeting_id IS NULL) <> (case_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_note.id", ondelete="CASCADE"), index=True
    )
    media_ref: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attendance(Base):
    """One mark per meeting and KPM."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "kpm_id"),
        Index("ix_attendance_kpm", "kpm_id", "meeting_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"))
    mark: Mapped[AttendanceMark] = mapped_column(_enum(AttendanceMark, "attendance_mark"))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rsvp(Base):
    """A KPM's answer to a meeting reminder."""

    __tablename__ = "rsvp"
    __table_args__ = (UniqueConstraint("meeting_id", "kpm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    answer: Mapped[RsvpAnswer] = mapped_column(_enum(RsvpAnswer, "rsvp_answer"))
    reason: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseNote(Base):
    """A case (kasus) about a KPM, followed up to its close."""

    __tablename__ = "case_note"
    __table_args__ = (
        Index("ix_case_note_staff_status", "staff_id", "status"),
        Index("ix_case_note_follow_up", "status", "follow_up_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text())
    severity: Mapped[CaseSeverity] = mapped_column(_enum(CaseSeverity, "case_severity"))
    status: Mapped[CaseStatus] = mapped_column(
        _enum(CaseStatus, "case_status"), default=CaseStatus.BARU
    )
    follow_up_date: Mapped[date | None] = mapped_column(Date())
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseUpdate(Base):
    """A status change or note on a case."""

    __tablename__ = "case_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_note.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    note: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GraduationAssessment(Base):
    """A pendamping's readiness assessment for graduasi sejahtera mandiri."""

    __tablename__ = "graduation_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    indicators: Mapped[dict[str, Any]] = mapped_column(JSONType)
    score: Mapped[float] = mapped_column(Float())
    threshold: Mapped[float] = mapped_column(Float())
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Outbox(Base):
    """Every message that leaves: the dispatcher's queue and its delivery record."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "channel", "next_attempt_at", "priority"),
        # Only sent messages have a provider id: the rows a sweep enqueues by the
        # hundred thousand add nothing to this index.
        Index(
            "ix_outbox_provider_id",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    address: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower is sooner
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(String(80))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class InboundMessage(Base):
    """Inbound external ids already processed, so a redelivery is handled once."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Inbox(Base):
    """Every message that arrives, stored before it is acknowledged: the workers' queue.

    ``payload`` is the provider's own form (Twilio's parameters, Telegram's update JSON),
    translated for the engine when it is handled; ``address`` is the sender's chat, whose
    messages are handled one at a time in ``id`` order. A redelivery of the same provider
    id is not stored twice."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbox_due", "status", "next_attempt_at"),
        Index("ix_inbox_address", "address", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[InboxStatus] = mapped_column(
        _enum(InboxStatus, "inbox_status"), default=InboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    error: Mapped[str | None] = mapped_column(String(500))


class Conversation(Base):
    """Where a chat address is in a flow: read and written with the step's own work."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(80), unique=True)
    flow: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AuditLog(Base):
    """Who did what to which record; ids only, never personal data."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(40))  # "staff", "cli", "system", "kpm"
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class GroupLinkCode(Base):
    """A one-time code with which a pendamping links a group chat to a kelompok."""

    __tablename__ = "group_link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    kelompok_id: Mapped[int] = mapped_column(
        ForeignKey("kelompok.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReportFile(Base):
    """A generated file (digest chart, workbook, export) kept for a while so that a
    channel can send it later: Telegram uploads the bytes, WhatsApp fetches it from a
    signed, expiring URL of the web app."""

    __tablename__ = "report_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    content: Mapped[bytes] = mapped_column(LargeBinary())
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
