"""The enumerations the tables store (as short strings with CHECK constraints) and the
code passes around: roles, statuses, channels, marks."""

from __future__ import annotations

from enum import StrEnum


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


class ExitReason(StrEnum):
    """Why a KPM left the programme; the two graduasi give the KPM that status, the
    others ``keluar``."""

    MENINGGAL = "meninggal"
    PINDAH = "pindah"
    MENGUNDURKAN_DIRI = "mengundurkan_diri"
    TIDAK_MEMENUHI_SYARAT = "tidak_memenuhi_syarat"
    GRADUASI_ALAMIAH = "graduasi_alamiah"
    GRADUASI_MANDIRI = "graduasi_mandiri"

    @property
    def status(self) -> KpmStatus:
        if self is ExitReason.GRADUASI_ALAMIAH:
            return KpmStatus.GRADUASI_ALAMIAH
        if self is ExitReason.GRADUASI_MANDIRI:
            return KpmStatus.GRADUASI_MANDIRI
        return KpmStatus.KELUAR


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


class Facilitator(StrEnum):
    """Who ran a held meeting: the pendamping (the default), or the ketua kelompok alone,
    without the pendamping (a meeting the pendamping was obliged to attend and missed)."""

    PENDAMPING = "pendamping"
    KETUA = "ketua"


class AttendanceMark(StrEnum):
    HADIR = "hadir"
    IZIN = "izin"
    SAKIT = "sakit"
    ALPA = "alpa"


class CommitmentResult(StrEnum):
    """A verified commitment (verifikasi komitmen); not verified yet is no record at all."""

    MEMENUHI = "memenuhi"
    TIDAK_MEMENUHI = "tidak_memenuhi"


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


class KpmMessageStatus(StrEnum):
    OPEN = "open"  # waiting for the pendamping
    ANSWERED = "answered"  # the pendamping replied through the bot
    DONE = "done"  # marked done without a reply (handled by phone, in person...)


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class ProgrammeStatus(StrEnum):
    """A family and one complementary programme (bansos komplementer): it has it, needs it
    but lacks it (the pendamping's advocacy), or does not need it; not recorded yet is no
    record at all."""

    PUNYA = "punya"
    BUTUH = "butuh"
    TIDAK_PERLU = "tidak_perlu"


class MediaStatus(StrEnum):
    """A file someone sent (photo, voice note, document): waiting to be fetched from the
    provider, kept by us, refused (too large, a type not accepted), or given up on."""

    PENDING = "pending"
    STORED = "stored"
    REFUSED = "refused"
    FAILED = "failed"
