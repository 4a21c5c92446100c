"""Every message of the catalog as a person receives it, and the checks of its wording.

Each key is rendered with sample values for its placeholders, for each channel it can
reach, and checked for what reads wrong or cannot go out: a doubled word ("Kehadiran
kehadiran"), "Anda" in a message a KPM receives (a KPM is addressed as Ibu or Bapak),
"ketuk"/"tekan" where nothing can be tapped (WhatsApp, SMS: "balas dengan nomornya"), a
placeholder left unreplaced, a message over its channel's limit (a WhatsApp template's
body 1,024 characters, a WhatsApp or SMS message 1,600, Telegram 4,096).

``pendamping messages --out FILE`` writes :func:`review_page`, so a dinas officer can read
every message in one place; the tests run :func:`problems` over the whole catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.i18n import Translator
from models.rules.sms import is_gsm7, segments

PLACEHOLDER = re.compile(r"\{(\w+)\}")
DOUBLED = re.compile(r"\b(\w{2,})\s+\1\b", re.IGNORECASE)
TAP = re.compile(r"\b(ketuk|tekan)\b", re.IGNORECASE)
ANDA = re.compile(r"\bAnda(lah)?\b")

LIMITS = {"whatsapp": 1600, "sms": 1600, "telegram": 4096, "console": 4096, "terminal": 4096}
TEMPLATE_LIMIT = 1024
BUTTONLESS = ("whatsapp", "sms")

KPM_KEYS = re.compile(
    r"^(reminder\.(kpm|kpm_shared|changed|cancelled)(_sms)?|rsvp\.(coming|declined|"
    r"declined_with_reason|reason_saved|how|no_meeting|shared_.*)|optout\..*|pesan\.ack_.*|register\.unknown_sender|"
    r"error\.generic|input\..*|conversation\.(timed_out|lost)|kpm\.(hello|contact_linked|"
    r"contact_unknown|share_contact)|phone_change\.kpm_.*|"
    r"ketua\.(list|forward|recorded|line_.*|nobody_listed|all_answered|ambiguous|not_found|"
    r"need_answer))$"
)
"""The messages a KPM can receive (replies to a family, and those anyone can get)."""

SMS_ONLY = re.compile(r"^.*_sms$")
"""A message's SMS variant (``reminder.kpm_sms``): GSM-7 only, within the default
``[sms] max_segments`` with the sample values."""
SMS_SEGMENTS = 2

TELEGRAM_ONLY = re.compile(r"^(group\..*|telegram\..*)$")
"""Messages that only exist in a Telegram chat (group chats are Telegram's)."""

COMMAND_LINE = re.compile(r"^(cli|roster)\..*$")
"""What the `pendamping` command prints for an operator (and roster import reasons): read
in a terminal, never sent in a chat."""

SAMPLES: dict[str, str] = {
    "absent": "3", "absentees": "2", "after": "Kamis, 10 Desember 2026",
    "alpa": "1", "assessor": "Rina Wati", "attendance": "83%", "attendance_points": "2,5",
    "before": "Selasa, 8 Desember 2026", "by": "Rina Wati", "candidates": "4",
    "case_id": "128", "cases": "2", "categories": "KKS bermasalah 2, Pendidikan 1",
    "category": "KKS bermasalah", "change": "naik 3 poin", "checks_done": "40",
    "checks_due": "52", "code": "ABCD-2345", "coming": "12",
    "coming_names": "Siti Aminah, Sri Wahyuni", "command": "/hadir", "commitment":
    "Kehadiran sekolah", "commitments": "2", "comparison": "naik 3 poin dibanding 3 bulan "
    "sebelumnya", "count": "3", "counts": "Melati 2: 5, Mawar 1: 3",
    "date": "Selasa, 8 Desember 2026", "declined": "• Sri Wahyuni: anak sakit",
    "declined_count": "1", "description": "kartu KKS tertelan mesin ATM", "done": "40",
    "due": "52", "end": "31 Desember 2026", "expected": "nomor pilihan (misalnya: 1)",
    "follow_up": "Kamis, 10 Desember 2026", "graduated": "2", "hadir": "20",
    "held": "3", "history": "8 Des: hadir", "holiday": "Hari Raya Natal",
    "hours": "26", "id": "128", "id_pkh": "3302010001", "item": "Melati 2",
    "izin": "1", "kelompok": "Kelompok Melati", "kind": "kehadiran",
    "komponen": "Anak SD", "kpm": "Siti Aminah", "level": "2", "levels": "3",
    "limit": "2000", "lines": "3", "met": "10", "minimum": "85%", "minutes": "30",
    "missing": "bersedia graduasi", "month": "Desember 2026", "months": "6",
    "name": "Siti Aminah", "next": "Selasa, 12 Januari 2027", "next_day":
    "Rabu, 9 Desember 2026", "nik": "3302••••••••0001", "not_met": "2",
    "note": "anaknya tidak sekolah sudah 2 bulan", "number": "3",
    "numbers": "3, 7", "open": "5", "opened": "1 Desember 2026", "other": "Dewi Lestari",
    "overdue": "1", "page": "1", "penerima": "Ibu Murni", "pages": "2", "pendamping": "Rina Wati",
    "period": "Desember 2026", "periods": "2", "phone": "0812••••7890", "photo": "1",
    "photos": "2", "place": "Balai Desa Sukamaju", "planned": "4", "points": "3",
    "present": "20", "problems": "baris 3: NIK tidak valid", "query": "sri",
    "rate": "83%", "reason": "anak sakit", "sapaan": "Ibu", "reasons": "usaha warung stabil",
    "recent": "Nov: memenuhi", "recorded": "20", "rows": "120", "rule":
    "Selasa minggu kedua", "sakit": "1", "scope": "Kab. Banyumas", "score": "8,2",
    "sesi": "3", "severity": "biasa", "shown": "60", "source": "roster.xlsx",
    "start": "1 Desember 2026", "status": "tindak lanjut", "streak": "3",
    "suggestion": "KKS bermasalah", "target": "10", "text": "Bu, kartu KKS saya hilang",
    "threshold": "7", "time": "09.00 WIB", "title": "Pentingnya Gizi Ibu Menyusui",
    "told": "2", "total": "25", "unanswered": "Sumarni", "unanswered_count": "1",
    "unverified": "5", "urgent": "1", "verdict": "memenuhi", "what": "kehadiran",
    "when": "8 Des", "who": "Rina Wati", "words": "YA · BATAL",
}
"""A realistic value per placeholder name; a name not here renders as "contoh"."""


@dataclass(frozen=True)
class Rendered:
    key: str
    channel: str
    audience: str  # "kpm" or "staff"
    text: str


def channels_of(key: str) -> tuple[str, ...]:
    if COMMAND_LINE.match(key):
        return ("terminal",)
    if TELEGRAM_ONLY.match(key):
        return ("telegram",)
    if SMS_ONLY.match(key):
        return ("sms",)
    return ("whatsapp", "sms", "telegram") if KPM_KEYS.match(key) else (
        "whatsapp", "telegram", "console"
    )


def render_all(translate: Translator, keys: Iterable[str] | None = None) -> list[Rendered]:
    """Every key (or ``keys``) rendered with the samples, per channel it can reach."""
    rendered: list[Rendered] = []
    for key in sorted(translate.known_keys() if keys is None else keys):
        raw = translate(key)
        values = {name: SAMPLES.get(name, "contoh") for name in PLACEHOLDER.findall(raw)}
        text = translate(key, **values) if values else raw
        audience = "kpm" if KPM_KEYS.match(key) else "staff"
        rendered.extend(Rendered(key, channel, audience, text) for channel in channels_of(key))
    return rendered


def problems_of(message: Rendered, template_keys: frozenset[str] = frozenset()) -> list[str]:
    found = []
    if match := DOUBLED.search(message.text):
        found.append(f"doubled word {match[0]!r}")
    if message.audience == "kpm" and ANDA.search(message.text):
        found.append('"Anda" in a message to a KPM (Ibu/Bapak)')
    if message.channel in BUTTONLESS and (match := TAP.search(message.text)):
        found.append(f"{match[0]!r} on {message.channel}, where nothing can be tapped")
    if PLACEHOLDER.search(message.text):
        found.append("a placeholder left unreplaced")
    if SMS_ONLY.match(message.key):
        if not is_gsm7(message.text):
            found.append("characters outside GSM-7 in an SMS variant")
        if (taken := segments(message.text)) > SMS_SEGMENTS:
            found.append(f"{taken} SMS segments, over {SMS_SEGMENTS}")
    limit = LIMITS[message.channel]
    if message.key in template_keys and message.channel == "whatsapp":
        limit = TEMPLATE_LIMIT
    if len(message.text) > limit:
        found.append(f"{len(message.text)} characters, over {limit} on {message.channel}")
    return found


def problems(
    translate: Translator, template_keys: frozenset[str] = frozenset()
) -> dict[tuple[str, str], list[str]]:
    """Per (key, channel), what reads wrong or cannot go out; empty when all is well."""
    return {
        (message.key, message.channel): found
        for message in render_all(translate)
        if (found := problems_of(message, template_keys))
    }


def review_page(translate: Translator) -> str:
    """Markdown: every message as its reader receives it, grouped by topic, with the
    channels it goes out on and who reads it."""
    lines = [
        "# Pesan pendamping: semua pesan bot",
        "",
        "Setiap pesan ditampilkan dengan contoh isian. Penerima: KPM atau staf.",
    ]
    by_key: dict[str, list[Rendered]] = {}
    for message in render_all(translate):
        by_key.setdefault(message.key, []).append(message)
    topic = None
    for key, versions in by_key.items():
        if key.split(".")[0] != topic:
            topic = key.split(".")[0]
            lines += ["", f"## {topic}"]
        first = versions[0]
        reader = "KPM" if first.audience == "kpm" else "staf"
        lines += [
            "",
            f"### `{key}` ({reader}; {', '.join(v.channel for v in versions)})",
            "",
            *(f"> {line}" if line else ">" for line in first.text.split("\n")),
        ]
    return "\n".join(lines) + "\n"
