"""The tables: regions, people, groups, meetings, cases and audit (the messaging tables are
in :mod:`models.messaging.tables`, the enumerations in :mod:`models.enums`).

Enumerations are stored as short strings with CHECK constraints (portable between SQLite and
PostgreSQL, readable in a database shell). Timestamps are UTC (:class:`UTCDateTime`); dates
that a person reads (a meeting day, a birth date) are plain local dates.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, enum_type, utcnow
from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    Channel,
    CommitmentResult,
    ExitReason,
    Facilitator,
    KpmMessageStatus,
    KpmStatus,
    MediaStatus,
    MeetingStatus,
    RegionLevel,
    RsvpAnswer,
    StaffRole,
)


class Region(Base):
    """A province, kabupaten/kota, kecamatan or desa; the time zone is set on provinces."""

    __tablename__ = "region"
    __table_args__ = (
        UniqueConstraint("parent_id", "level", "name_key"),
        CheckConstraint("(level = 'provinsi') = (parent_id IS NULL)", name="parent_by_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel, "region_level"))
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
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole, "staff_role"))
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
    rule_day_of_month: Mapped[int | None] = mapped_column(Integer)  # "tiap tanggal 10"
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
        enum_type(Channel, "channel"), default=Channel.WHATSAPP
    )
    kelompok_id: Mapped[int | None] = mapped_column(ForeignKey("kelompok.id", ondelete="SET NULL"))
    status: Mapped[KpmStatus] = mapped_column(
        enum_type(KpmStatus, "kpm_status"), default=KpmStatus.AKTIF
    )
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    graduated_on: Mapped[date | None] = mapped_column(Date())  # when status became graduasi
    left_on: Mapped[date | None] = mapped_column(Date())  # when it left the programme
    exit_reason: Mapped[ExitReason | None] = mapped_column(enum_type(ExitReason, "exit_reason"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Personal data erased on request (models.erasure): the row stays under a pseudonym
    # ("KPM terhapus #<id>") for the figures; why, as the operator or coordinator said it.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erasure_reason: Mapped[str | None] = mapped_column(String(200))


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
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    kpm_id: Mapped[int | None] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A WhatsApp address whose messages failed as "not on WhatsApp": since when (its KPM
    # are reached by SMS until they write from WhatsApp or their number changes), and
    # when their pendamping was told of the switch.
    not_on_whatsapp_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sms_switch_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The business number (E.164) this address last wrote to, when Twilio said (several
    # regional senders): a reply inside WhatsApp's 24-hour window must come from it.
    last_to: Mapped[str | None] = mapped_column(String(40))


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
        enum_type(MeetingStatus, "meeting_status"), default=MeetingStatus.PLANNED
    )
    plan_key: Mapped[str | None] = mapped_column(String(16))  # "2026-12" when planned by rule
    facilitator: Mapped[Facilitator] = mapped_column(  # the ketua alone: see Facilitator
        enum_type(Facilitator, "facilitator"), server_default=Facilitator.PENDAMPING.value
    )
    attendance_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MediaAttachment(Base):
    """Evidence: a meeting photo or a case's photo or voice note, named by the provider's
    reference (a Twilio ``MediaUrl``, ``telegram-file:<id>``); our copy of the file is the
    :class:`MediaFile` with that ``provider_ref``."""

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
        # a meeting's marks counted from the index alone (the digest's attendance rates)
        Index("ix_attendance_meeting_mark", "meeting_id", "mark"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"))
    mark: Mapped[AttendanceMark] = mapped_column(enum_type(AttendanceMark, "attendance_mark"))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rsvp(Base):
    """A KPM's answer to a meeting reminder, theirs or their ketua kelompok's for them."""

    __tablename__ = "rsvp"
    __table_args__ = (UniqueConstraint("meeting_id", "kpm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"), index=True)
    answer: Mapped[RsvpAnswer] = mapped_column(enum_type(RsvpAnswer, "rsvp_answer"))
    reason: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the ketua kelompok who answered for the KPM (None: the KPM answered themselves)
    answered_by_kpm_id: Mapped[int | None] = mapped_column(
        ForeignKey("kpm.id", ondelete="SET NULL")
    )


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
    severity: Mapped[CaseSeverity] = mapped_column(enum_type(CaseSeverity, "case_severity"))
    status: Mapped[CaseStatus] = mapped_column(
        enum_type(CaseStatus, "case_status"), default=CaseStatus.BARU
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
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "case_status"))
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
    gates_met: Mapped[bool] = mapped_column(default=False, server_default=false())
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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


class CommitmentCheck(Base):
    """One member's commitment verified for one period (verifikasi komitmen): the komponen
    is the member, ``commitment`` a key of ``[programme.commitments]``."""

    __tablename__ = "commitment_check"
    __table_args__ = (
        UniqueConstraint("komponen_id", "commitment", "period_start"),
        Index("ix_commitment_check_kpm_period", "kpm_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    komponen_id: Mapped[int] = mapped_column(ForeignKey("komponen.id", ondelete="CASCADE"))
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"))
    commitment: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date())
    result: Mapped[CommitmentResult] = mapped_column(
        enum_type(CommitmentResult, "commitment_result")
    )
    reason: Mapped[str | None] = mapped_column(String(40))
    evidence_ref: Mapped[str | None] = mapped_column(String(500))  # a photo (buku KIA, rekap)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KpmMessage(Base):
    """A *pesan KPM*: what a KPM wrote that was not an answer to a pending question, for
    the pendamping of the KPM's kelompok (whoever that is now). ``address`` is the chat it
    came from, where a reply goes; ``received_at`` opened WhatsApp's 24-hour window."""

    __tablename__ = "kpm_message"
    __table_args__ = (Index("ix_kpm_message_kpm_status", "kpm_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpm_id: Mapped[int] = mapped_column(ForeignKey("kpm.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    media_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[KpmMessageStatus] = mapped_column(
        enum_type(KpmMessageStatus, "kpm_message_status"), default=KpmMessageStatus.OPEN
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )


class MediaFile(Base):
    """A photo, voice note or document someone sent. Until it is fetched only the
    provider's reference is known (a Twilio ``MediaUrl``, ``telegram-file:<file_id>``);
    once fetched it is kept by us under ``storage_key`` (its SHA-256: a file sent twice is
    stored once). The row is also the fetch's job: attempts, the next try and the last
    error. Attachments (``media_attachment.media_ref``, ``commitment_check.evidence_ref``)
    name it by ``provider_ref``. ``taken_at`` is the camera's own clock (EXIF, local time
    as the camera had it), the location is the photo's GPS, both when it carries them."""

    __tablename__ = "media_file"
    __table_args__ = (
        Index("ix_media_file_due", "status", "next_attempt_at"),
        Index(
            "ix_media_file_provider_delete",
            "next_attempt_at",
            sqlite_where=text("provider_delete"),
            postgresql_where=text("provider_delete"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    address: Mapped[str] = mapped_column(String(80))  # who sent it: a refusal goes there
    external_id: Mapped[str | None] = mapped_column(String(120))  # the message's provider id
    provider_ref: Mapped[str] = mapped_column(String(500), unique=True)
    provider_type: Mapped[str | None] = mapped_column(String(120))  # as the provider said
    kpm_id: Mapped[int | None] = mapped_column(
        ForeignKey("kpm.id", ondelete="CASCADE"), index=True
    )  # the family it came from or is about (erased with it)
    kpm_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("kpm_message.id", ondelete="SET NULL"), index=True
    )  # the pesan KPM it came with
    status: Mapped[MediaStatus] = mapped_column(
        enum_type(MediaStatus, "media_status"), default=MediaStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(80))  # found from the content
    storage_key: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime())  # EXIF, the camera's clock
    latitude: Mapped[float | None] = mapped_column(Float())
    longitude: Mapped[float | None] = mapped_column(Float())
    provider_delete: Mapped[bool] = mapped_column(default=False, server_default=false())
    provider_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebLoginLink(Base):
    """A one-time link into the web console (from /web in chat or `pendamping web-login`);
    only the hash of its token is kept, and it is used once within minutes."""

    __tablename__ = "web_login_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser: the cookie carries the token, the row its hash, so a logout
    or a deactivated staff member ends it on every process at once."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
