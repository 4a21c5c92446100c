"""WhatsApp templates: one per message the business starts, declared here and nowhere else.

Outside WhatsApp's 24-hour window a message the business starts must be an approved
template: a fixed body with numbered variables ({{1}}, {{2}}...). Each catalog key that can
be sent that way is declared below with its variables in the order they appear in the
catalog text; the template's body is that catalog text with each ``{name}`` replaced by its
number (built by ``bot.whatsapp_templates`` from the catalog), so the message sent inside
the window and the template say the same thing. The template's name, and its key under
``[twilio.templates]``, is the catalog key with dots as underscores (``reminder_kpm``).

Variables are human text, never codes or ids: each has a kind whose rule and length limit
``models.messaging.template_checks`` checks before the message is enqueued, so that a value
WhatsApp would refuse is an error at the sweep (with the template and the reason), not at
send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

CATEGORY = "UTILITY"
LANGUAGE = "id"
BODY_LIMIT = 1024
"""WhatsApp's limit on a template's body, variables filled in."""


class VariableKind(StrEnum):
    """What a variable holds; each kind has its own check and limit."""

    NAME = "name"  # a person's name: a KPM, a pendamping, an assessor
    LABEL = "label"  # a kelompok, a place, a category, a period: words, not a code
    DATE = "date"  # a date written the Indonesian way: "Selasa, 8 Desember 2026"
    TIME = "time"  # a clock time the Indonesian way: "09.00"
    NUMBER = "number"  # a count, a case number, a score: "3", "0,85"
    PERCENT = "percent"  # a rate: "83%"
    TEXT = "text"  # free text (a KPM's message, a list): put on one line and shortened
    FILE = "file"  # a media file's signed path after the public base URL (set at send time)




@dataclass(frozen=True)
class Variable:
    """One numbered variable: the catalog placeholder it fills, its kind, what it holds
    (for the operator reading the pack) and an example (submitted to Meta with the body)."""

    name: str
    kind: VariableKind
    holds: str
    example: str


@dataclass(frozen=True)
class Button:
    """A quick-reply button: its title and the payload that comes back when tapped (the
    same text a person would type)."""

    title: str
    payload: str


@dataclass(frozen=True)
class Template:
    key: str
    variables: tuple[Variable, ...]
    buttons: tuple[Button, ...] = ()
    media: bool = False  # a media template: the file's URL is {{1}}
    purpose: str = ""

    @property
    def name(self) -> str:
        """The template's name at Twilio and its key under ``[twilio.templates]``."""
        return template_name(self.key)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(variable.name for variable in self.variables)

    def number(self, name: str) -> int:
        """The variable's number in the body ({{n}})."""
        return self.names.index(name) + 1

    def where(self, variable: Variable) -> str:
        """How a problem names the variable: "template reminder_kpm: {{2}} (kelompok)"."""
        return f"template {self.name}: {{{{{self.number(variable.name)}}}}} ({variable.name})"


class TemplateProblem(ValueError):
    """A message that cannot go out as its template; the text names the template, the
    variable and the reason (never the value: it may be a name)."""


def template_name(key: str) -> str:
    return key.replace(".", "_")


# -- the variables, as the catalog texts use them ----------------------------------------

KELOMPOK = Variable("kelompok", VariableKind.LABEL, "the kelompok's name", "Melati 2")
KPM = Variable("kpm", VariableKind.NAME, "the KPM's name (nama pengurus)", "Siti Aminah")
DATE = Variable("date", VariableKind.DATE, "the day", "Selasa, 8 Desember 2026")
TIME = Variable("time", VariableKind.TIME, "the start time and its zone", "13.00 WIB")
PLACE = Variable("place", VariableKind.LABEL, "where the group meets", "Balai Desa Sukamaju")
PENDAMPING = Variable("pendamping", VariableKind.NAME, "the pendamping's name", "Rina Wati")


def _number(name: str, holds: str, example: str) -> Variable:
    return Variable(name, VariableKind.NUMBER, holds, example)


_WARNING = (
    _number("level", "the warning's level", "2"),
    _number("levels", "the number of warning levels", "3"),
    KPM,
    KELOMPOK,
)
_WARNING_REST = (
    Variable("commitment", VariableKind.LABEL, "the commitment not met", "Kehadiran sekolah"),
    Variable("komponen", VariableKind.LABEL, "the family member's komponen", "Anak SD"),
    _number("periods", "periods in a row not met", "2"),
    Variable("period", VariableKind.LABEL, "the last verification period", "November 2026"),
)
PENERIMA = Variable(
    "penerima", VariableKind.NAME, "who it is to: Ibu or Bapak and the name (a group chat: "
    "its members)", "Ibu Murni",
)
_MEETING = (KELOMPOK, DATE, TIME, PLACE, PENDAMPING)
_TO_KPM = (PENERIMA, *_MEETING)
_RSVP = (Button("Hadir", "1"), Button("Tidak bisa", "2"))
_RSVP_SHARED = (Button("Semua hadir", "1"), Button("Ada yang tidak bisa", "2"))
_FILE = Variable(
    "file", VariableKind.FILE, "the file's signed path (expiry, signature)",
    "media/12?e=1765432100&s=3f9a0c1d2b4e5f60",
)

TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template("reminder.kpm", _TO_KPM, _RSVP, purpose="meeting reminder to a KPM"),
        Template("reminder.kpm_shared", _TO_KPM, _RSVP_SHARED,
                 purpose="meeting reminder to a phone several KPM share"),
        Template("reminder.changed", _TO_KPM, _RSVP, purpose="a meeting moved, to a KPM"),
        Template("reminder.cancelled", (PENERIMA, KELOMPOK, DATE, PENDAMPING),
                 purpose="a meeting cancelled"),
        Template("reminder.group", _MEETING, purpose="meeting reminder to a group chat"),
        Template(
            "ketua.list",
            (
                PENERIMA, KELOMPOK, DATE, TIME, PLACE,
                _number("count", "members no reminder reaches", "2"),
                Variable("members", VariableKind.TEXT, "their names",
                         "Siti Aminah, Ani Marlina"),
                Variable("contoh", VariableKind.NAME, "the first one's first name", "Siti"),
                PENDAMPING,
            ),
            (Button("Hadir semua", "hadir semua"),),
            purpose="to the ketua kelompok: the members no reminder reaches, to answer for",
        ),
        Template(
            "ketua.forward",
            (KELOMPOK, DATE, TIME, PLACE,
             Variable("ketua", VariableKind.NAME, "the ketua kelompok", "Ibu Rina Wati"),
             PENDAMPING),
            purpose="to the ketua kelompok: a meeting reminder to forward to the group",
        ),
        Template(
            "planner.holiday",
            (
                KELOMPOK,
                DATE,
                Variable("holiday", VariableKind.LABEL, "the holiday", "Hari Raya Natal"),
                Variable("next_day", VariableKind.DATE, "the next working day",
                         "Rabu, 9 Desember 2026"),
            ),
            purpose="a planned meeting falls on a holiday, to the pendamping",
        ),
        Template("nudge.today", (KELOMPOK, TIME, PLACE), purpose="meeting today"),
        Template(
            "nudge.reach",
            (
                KELOMPOK,
                Variable("via_ketua", VariableKind.TEXT, "members told through the ketua, "
                         "or -", "Siti Aminah, Sri Wahyuni"),
                Variable("not_reached", VariableKind.TEXT, "members nobody can reach, or -",
                         "Rina Wati"),
            ),
            purpose="meeting today: the members no reminder reaches directly",
        ),
        Template("nudge.no_attendance", (KELOMPOK, DATE), purpose="attendance not recorded"),
        Template(
            "nudge.follow_up",
            (_number("case_id", "the case number", "128"), KPM),
            purpose="a case's follow-up date is today",
        ),
        Template(
            "nudge.pesan",
            (KPM, KELOMPOK, _number("hours", "hours unanswered", "26")),
            purpose="a KPM's message unanswered",
        ),
        Template(
            "nudge.commitments",
            (
                Variable("period", VariableKind.LABEL, "the verification period", "Desember 2026"),
                DATE,
                Variable("counts", VariableKind.TEXT, "unverified checks per kelompok",
                         "Melati 2: 5, Mawar 1: 3"),
            ),
            purpose="commitment checks still unverified near the period's end",
        ),
        Template(
            "nudge.bansos",
            (
                _number("count", "families still needing a programme", "5"),
                Variable("counts", VariableKind.TEXT, "families per programme needed",
                         "KIS/PBI-JKN 3, KIP/PIP 2"),
            ),
            purpose="the weekly advocacy line: families still needing complementary programmes",
        ),
        Template(
            "nudge.sms_switched",
            (
                _number("count", "KPM switched to SMS", "2"),
                Variable("names", VariableKind.TEXT, "their names",
                         "Siti Aminah, Sri Wahyuni"),
            ),
            purpose="KPM whose number is not on WhatsApp now reached by SMS, to the pendamping",
        ),
        Template(
            "alert.urgent_case",
            (
                _number("id", "the case number", "128"),
                Variable("category", VariableKind.LABEL, "the case's category", "KKS bermasalah"),
                KPM,
                KELOMPOK,
                PENDAMPING,
            ),
            purpose="an urgent case, to the coordinator",
        ),
        Template(
            "alert.escalated_case",
            (
                _number("id", "the case number", "131"),
                Variable("category", VariableKind.LABEL, "the case's category",
                         "Pemotongan bantuan/pungli"),
                KPM,
                KELOMPOK,
                PENDAMPING,
            ),
            purpose="a case of a category always escalated (pungli), to the coordinator",
        ),
        Template(
            "alert.graduation_ready",
            (
                KPM,
                KELOMPOK,
                _number("score", "the assessment's score", "82"),
                _number("threshold", "the score needed", "75"),
                Variable("reasons", VariableKind.TEXT, "the assessment's reasons",
                         "usaha warung stabil; anak sudah bekerja"),
                Variable("assessor", VariableKind.NAME, "who assessed", "Rina Wati"),
            ),
            purpose="a family ready for graduasi mandiri, to the coordinator",
        ),
        Template("alert.graduation_soon", (KPM, KELOMPOK, DATE),
                 purpose="a family's last komponen ends soon"),
        Template("alert.graduation_ended", (KPM, KELOMPOK, DATE),
                 purpose="a family's last komponen has ended"),
        Template(
            "alert.absence_streak",
            (KPM, KELOMPOK, _number("streak", "meetings missed in a row", "3"), DATE),
            purpose="a KPM absent from meetings in a row",
        ),
        Template("alert.commitment_warning", (*_WARNING, *_WARNING_REST),
                 purpose="peringatan: a commitment not met periods in a row"),
        Template("alert.commitment_warning_last", (*_WARNING, *_WARNING_REST),
                 purpose="the last peringatan, to the pendamping"),
        Template("alert.commitment_escalated", (*_WARNING, PENDAMPING, *_WARNING_REST),
                 purpose="the last peringatan, to the coordinator and supervisor"),
        Template(
            "staff.handed_over",
            (
                _number("count", "how many kelompok", "2"),
                Variable("kelompok", VariableKind.TEXT, "the kelompok handed over",
                         "Melati 2, Mawar 1"),
                Variable("other", VariableKind.NAME, "the pendamping taking over", "Dewi Lestari"),
            ),
            purpose="kelompok handed over to another pendamping",
        ),
        Template(
            "staff.received",
            (
                _number("count", "how many kelompok", "2"),
                Variable("other", VariableKind.NAME, "the previous pendamping", "Rina Wati"),
                Variable("kelompok", VariableKind.TEXT, "the kelompok received",
                         "Melati 2, Mawar 1"),
            ),
            purpose="kelompok received from another pendamping",
        ),
        Template(
            "pesan.new",
            (
                Variable("name", VariableKind.NAME, "the KPM's name", "Siti Aminah"),
                KELOMPOK,
                Variable("text", VariableKind.TEXT, "the KPM's message, on one line",
                         "Bu, kartu KKS saya tertelan mesin ATM"),
            ),
            purpose="a KPM's message, to their pendamping",
        ),
        Template(
            "phone_change.notice",
            (
                Variable("name", VariableKind.NAME, "the KPM's name", "Siti Aminah"),
                KELOMPOK,
                Variable("before", VariableKind.LABEL, "the old number, masked", "0812••••890"),
                Variable("after", VariableKind.LABEL, "the new number, masked", "0813••••456"),
            ),
            purpose="a KPM changed their phone number from the old phone, to their pendamping",
        ),
        Template(
            "digest.summary",
            (
                Variable("scope", VariableKind.LABEL, "the coordinator's area", "Kab. Bantul"),
                DATE,
                _number("held", "meetings held this month", "26"),
                _number("planned", "meetings planned this month", "240"),
                Variable("rate", VariableKind.LABEL,
                         "attendance this month (or belum ada data)", "83%"),
                _number("urgent", "urgent open cases", "4"),
            ),
            purpose="the weekly digest, to the coordinator",
        ),
        Template("digest.chart_caption", (_FILE,), media=True, purpose="the digest's chart"),
        Template("digest.workbook_caption", (_FILE,), media=True,
                 purpose="the digest's workbook"),
    )
}


def template_of(payload: Mapping[str, Any]) -> Template | None:
    """The template a payload goes out as outside the window (its catalog key's)."""
    key = payload.get("template") or payload.get("key")
    return TEMPLATES.get(str(key)) if key else None
