"""Every flow and the commands (and plain words) that start them."""

from __future__ import annotations

from handlers import (
    attendance,
    case_view,
    cases,
    confirmations,
    digest,
    export,
    graduation,
    group_link,
    handover,
    history,
    jadwal,
    komitmen,
    kpm_card,
    kpm_changes,
    kpm_messages,
)
from handlers.flow import Flow

FLOWS: tuple[Flow, ...] = (
    attendance.FLOW,
    komitmen.FLOW,
    cases.FLOW,
    cases.MY_CASES,
    case_view.FLOW,
    kpm_card.FLOW,
    kpm_changes.MOVE_FLOW,
    kpm_changes.LEAVE_FLOW,
    history.FLOW,
    handover.FLOW,
    kpm_messages.FLOW,
    jadwal.FLOW,
    group_link.FLOW,
    confirmations.FLOW,
    graduation.FLOW,
    export.FLOW,
    digest.FLOW,
)

COMMANDS: dict[str, str] = {
    "hadir": "attendance",
    "absen": "attendance",
    "kehadiran": "attendance",
    "komitmen": "commitment",
    "verifikasi": "commitment",
    "kasus": "case",
    "kasus_saya": "my_cases",
    "kasussaya": "my_cases",
    "kpm": "kpm_card",
    "jadwal": "schedule",
    "hubungkan": "group_link",
    "konfirmasi": "confirmations",
    "graduasi": "graduation",
    "ekspor": "export",
    "ringkasan": "digest",
    "pesan": "kpm_message",
    "pindah_kelompok": "kpm_move",
    "pindahkelompok": "kpm_move",
    "keluar_pkh": "kpm_leave",
    "keluarpkh": "kpm_leave",
    "riwayat": "history",
    "lihat_kasus": "case_view",
    "serahkan": "handover",
    "lihatkasus": "case_view",
}
