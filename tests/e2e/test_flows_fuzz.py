"""Random input at every step of every flow: a reply always comes, nothing escapes.

Each step is reached by a scripted prefix of good inputs (``/batal`` first) played through
the engine on the hand-built world of ``tests/world.py``, and checked against the stored
flow and step. Then one random message is sent: empty, whitespace, emoji, 4,000 characters,
random unicode, numbers, option labels in random case, commands, stale or garbage button
values, a photo or a file with no text. The engine must answer with at least one non-empty
reply that is not the generic error, and must not have swallowed an exception
(``Engine.failures`` counts those).

One database per step. The prefix is played once; later examples put the conversation row
back as the prefix left it (all conversation state lives in that row), which is several
times faster; ``FUZZ_REPLAY=1`` replays the prefix every time instead, and
``FUZZ_EXAMPLES=500`` runs a deeper search. Saves made by earlier examples are fine."""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Media, Reply
from models.messaging.tables import Conversation
from models.rules.clock import FixedClock
from tests.world import NOW, Chat, World, build_world, make_engine

EXAMPLES_PER_STEP = int(os.environ.get("FUZZ_EXAMPLES", "50"))  # more for a deeper run
REPLAY_EVERY_EXAMPLE = os.environ.get("FUZZ_REPLAY") == "1"  # replay the prefix, not restore
GENERIC_ERROR = Translator()("error.generic")
ANI, DEWI, STRANGER = "console:ani", "console:dewi", "console:orang-asing"


@dataclass(frozen=True)
class Tap:
    """Tap an offered option: by its value, by part of its label, or the n-th one."""

    value: str | None = None
    label: str | None = None
    index: int | None = None


Move = str | Tap


@dataclass(frozen=True)
class Step:
    """A place in a conversation: who talks, how to get there, where it must be."""

    prefix: tuple[Move, ...]
    flow: str | None  # the stored flow and step the prefix must reach (None: idle)
    step: str | None
    address: str = ANI
    command: str | None = None  # the random text goes as this command's arguments


ATTENDANCE_MEETING = ("/hadir",)
ATTENDANCE_SESI = (*ATTENDANCE_MEETING, Tap(label="Hari ini"))
ATTENDANCE_MARK = (*ATTENDANCE_SESI, "5")
CASE_CATEGORY = ("/kasus Sumarni",)
CASE_DESCRIPTION = (*CASE_CATEGORY, Tap(value="lainnya"))
CASE_FOLLOW_UP = (*CASE_DESCRIPTION, "Anak belum sekolah sejak Senin")
CASE_NOTE = (*CASE_CATEGORY, "anaknya tidak sekolah sudah 2 bulan")  # a kind suggested
CASE_EXIT = (
    *CASE_CATEGORY,
    Tap(value="usulan_keluar"),
    "Ibu Sumarni meninggal dunia minggu lalu",
    Tap(value="skip"),
    Tap(value="biasa"),
)
MY_CASE_STATUS = ("/kasus_saya", Tap(index=0))
REFERRAL_START = ("/kelola_rujukan",)
REFERRAL_REGION = (*REFERRAL_START, Tap(value="add"))
REFERRAL_KIND = (*REFERRAL_REGION, Tap(index=0))
REFERRAL_NAME = (*REFERRAL_KIND, Tap(value="puskesmas"))
REFERRAL_PHONE = (*REFERRAL_NAME, "Puskesmas Sumber")
REFERRAL_CATEGORIES = (*REFERRAL_PHONE, "0812-0000-0101")
REFERRAL_ADDRESS = (*REFERRAL_CATEGORIES, Tap(value="default"))
REFERRAL_ACTION = (*REFERRAL_ADDRESS, Tap(value="skip"), "/kelola_rujukan Puskesmas Sumber")
SCHEDULE_ACTION = ("/jadwal Melati",)

STEPS: dict[str, Step] = {
    "idle": Step(("/batal",), None, None),
    "idle.menu_shown": Step(("/mulai",), None, None),
    "idle.koordinator": Step(("/batal",), None, None, address=DEWI),
    "idle.unknown_sender": Step((), None, None, address=STRANGER),
    "attendance.entry": Step((), None, None, command="/hadir"),
    "attendance.pick_meeting": Step(ATTENDANCE_MEETING, "attendance", "pick_meeting"),
    "attendance.pick_group": Step(
        (*ATTENDANCE_MEETING, Tap(value="groups")), "attendance", "pick_group"
    ),
    "attendance.ask_date": Step((*ATTENDANCE_MEETING, Tap(value="new")), "attendance", "ask_date"),
    "attendance.pick_sesi": Step(ATTENDANCE_SESI, "attendance", "pick_sesi"),
    "attendance.mark": Step(ATTENDANCE_MARK, "attendance", "mark"),
    "attendance.mark.page_2": Step((*ATTENDANCE_MARK, Tap(value="next")), "attendance", "mark"),
    "attendance.reason": Step(
        (*ATTENDANCE_MARK, "semua hadir kecuali 3, 7"), "attendance", "reason"
    ),
    "attendance.photo": Step((*ATTENDANCE_MARK, "semua hadir"), "attendance", "photo"),
    "attendance.confirm": Step(
        (*ATTENDANCE_MARK, "tidak hadir: Sumarni (sakit)", "lewati"), "attendance", "confirm"
    ),
    "attendance.mark.new_meeting": Step(
        ("/hadir", Tap(value="groups"), "Kelompok Mawar", Tap(value="new"), "kemarin", "1"),
        "attendance",
        "mark",
    ),
    "commitment.entry": Step((), None, None, command="/komitmen"),
    "commitment.pick_group": Step(("/komitmen",), "commitment", "pick_group"),
    "commitment.mark": Step(("/komitmen Melati",), "commitment", "mark"),
    "commitment.reason": Step(
        ("/komitmen Melati", "tidak 1", Tap(value="done")), "commitment", "reason"
    ),
    "commitment.photo": Step(("/komitmen Melati", "semua"), "commitment", "photo"),
    "commitment.confirm": Step(
        ("/komitmen Melati", "semua", "lewati"), "commitment", "confirm"
    ),
    "commitment.find_kpm": Step(("/komitmen", "Zaenab"), "commitment", "find_kpm"),
    "case.entry": Step((), None, None, command="/kasus"),
    "case.find_kpm": Step(("/kasus",), "case", "find_kpm"),
    "case.pick_kpm": Step(("/kasus Siti",), "case", "pick_kpm"),
    "case.category": Step(CASE_CATEGORY, "case", "category"),
    "case.description": Step(CASE_DESCRIPTION, "case", "description"),
    "case.follow_up": Step(CASE_FOLLOW_UP, "case", "follow_up"),
    "case.severity": Step((*CASE_FOLLOW_UP, Tap(value="skip")), "case", "severity"),
    "case.category.suggested": Step(CASE_NOTE, "case", "category"),
    "case.record_exit": Step(CASE_EXIT, "case", "record_exit"),
    "my_cases.entry": Step((), None, None, command="/kasus_saya"),
    "my_cases.pick_case": Step(("/kasus_saya",), "my_cases", "pick_case"),
    "my_cases.new_status": Step(MY_CASE_STATUS, "my_cases", "new_status"),
    "my_cases.status_note": Step(
        (*MY_CASE_STATUS, Tap(value="tindak_lanjut")), "my_cases", "status_note"
    ),
    "my_cases.koordinator": Step(("/kasus_saya",), "my_cases", "pick_case", address=DEWI),
    "kpm_card.entry": Step((), None, None, command="/kpm"),
    "kpm_card.find_kpm": Step(("/kpm",), "kpm_card", "find_kpm"),
    "kpm_card.pick_kpm": Step(("/kpm Siti",), "kpm_card", "pick_kpm"),
    "schedule.entry": Step((), None, None, command="/jadwal"),
    "schedule.pick_group": Step(("/jadwal",), "schedule", "pick_group"),
    "schedule.action": Step(SCHEDULE_ACTION, "schedule", "action"),
    "schedule.rule": Step((*SCHEDULE_ACTION, Tap(value="rule")), "schedule", "rule"),
    "schedule.move_date": Step((*SCHEDULE_ACTION, Tap(value="move")), "schedule", "move_date"),
    "schedule.move_place": Step(
        (*SCHEDULE_ACTION, Tap(value="move"), "besok"), "schedule", "move_place"
    ),
    "export.entry": Step((), None, None, address=DEWI, command="/ekspor"),
    "export.pick_kind": Step(("/ekspor",), "export", "pick_kind", address=DEWI),
    "export.pick_period": Step(
        ("/ekspor", Tap(value="cases")), "export", "pick_period", address=DEWI
    ),
    "referral.entry": Step((), None, None, command="/rujukan"),
    "referral.category": Step(("/rujukan",), "referral", "category"),
    "referral.koordinator": Step(("/rujukan",), "referral", "category", address=DEWI),
    "referral_edit.entry": Step((), None, None, address=DEWI, command="/kelola_rujukan"),
    "referral_edit.start": Step(REFERRAL_START, "referral_edit", "start", address=DEWI),
    "referral_edit.region": Step(REFERRAL_REGION, "referral_edit", "region", address=DEWI),
    "referral_edit.kind": Step(REFERRAL_KIND, "referral_edit", "kind", address=DEWI),
    "referral_edit.name": Step(REFERRAL_NAME, "referral_edit", "name", address=DEWI),
    "referral_edit.phone": Step(REFERRAL_PHONE, "referral_edit", "phone", address=DEWI),
    "referral_edit.categories": Step(
        REFERRAL_CATEGORIES, "referral_edit", "categories", address=DEWI
    ),
    "referral_edit.address": Step(REFERRAL_ADDRESS, "referral_edit", "address", address=DEWI),
    "referral_edit.action": Step(REFERRAL_ACTION, "referral_edit", "action", address=DEWI),
    "referral_edit.value": Step(
        (*REFERRAL_ACTION, Tap(value="phone")), "referral_edit", "value", address=DEWI
    ),
    "referral_edit.pick": Step(
        (*REFERRAL_ADDRESS, Tap(value="skip"), *REFERRAL_REGION, Tap(index=1),
         Tap(value="puskesmas"), "Puskesmas Sumber Dua", Tap(value="skip"),
         Tap(value="default"), Tap(value="skip"), "/kelola_rujukan Puskesmas"),
        "referral_edit", "pick", address=DEWI,
    ),
}

# --- what a user may send -------------------------------------------------------------------

WHITESPACE = st.sampled_from(["", " ", "   ", "\n", "\t \n", "\u00a0", "\u200b", "\u3000", "\r\n"])
EMOJI = st.text(alphabet=st.sampled_from(list("😀🙏👍🏽❤️🇮🇩✅🤲🌸\u200d")), min_size=1, max_size=8)
LONG = st.one_of(
    st.sampled_from(["a" * 4000, "1 " * 2000, "é" * 4000, "semua hadir kecuali " + "3, " * 1300]),
    st.characters().map(lambda c: c * 4000),
)
NUMBERS = st.one_of(
    st.sampled_from(["0", "00", "99", "3 7", "-1", "+1", "1.", "1,5", "1e3", " 12 "]),
    st.integers(min_value=-10, max_value=10**12).map(str),
    st.lists(st.integers(min_value=-3, max_value=40), min_size=1, max_size=8).flatmap(
        lambda numbers: st.sampled_from([" ", ", ", ",", " dan ", ";", "-"]).map(
            lambda sep: sep.join(map(str, numbers))
        )
    ),
)
COMMANDS = st.sampled_from(
    [
        "/batal",
        "batal",
        "/bantuan",
        "bantuan",
        "/mulai",
        "menu",
        "/hadir",
        "/hadir Melati",
        "/komitmen",
        "/komitmen Melati",
        "/komitmen Siti",
        "/absen Mawar",
        "/kasus",
        "/kasus Siti",
        "/kasus_saya",
        "/kpm",
        "/kpm Siti",
        "/jadwal",
        "/jadwal Mawar",
        "/start",
        "/start ABCD-1234",
        "daftar zzzz",
        "/tidakada",
        "/HADIR",
        "/hadir@pendamping_bot",
        "/",
        "//",
        "/batal sekarang",
    ]
)
PHRASES = st.sampled_from(
    [
        "hari ini",
        "kemarin",
        "besok",
        "lusa",
        "12/11",
        "31/02",
        "0/0",
        "99/99/9999",
        "29 Februari",
        "1 Januari 1900",
        "31 Desember 9999",
        "Senin",
        "minggu lalu",
        "semua hadir",
        "hadir semua kecuali 3, 7",
        "tidak hadir: Siti",
        "tidak hadir: 999",
        "3 sakit, 4 izin",
        "kecuali",
        "Sumarni (alpa)",
        "lewati",
        "simpan",
        "ubah",
        "selesai",
        "Selasa minggu kedua jam 09.00 di Balai Desa",
        "Rabu terakhir jam 7",
        "jam 25.00",
        "Senin minggu ke-5 jam 9",
        "sama",
        "Siti",
        "PKH010001",
        "%",
        "_",
        "'; DROP TABLE kpm;--",
        "null",
        "None",
        "{}",
        "{name}",
        "{0}",
        "\\",
        "\x00",
        "a\x00b",
    ]
)
# Known pitfalls, drawn often: digits that str.isdigit() accepts and int() may not, NUL
# (which PostgreSQL refuses in text and JSON), bidi and zero-width marks, a lone combining mark.
TRICKY = st.one_of(
    st.sampled_from(["²", "①", "³7", "١", "٣ ٧", "\x00", "a\x00b", "\u202e1", "1\u200b", "\u0301"]),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=3),
)
TEXTS = st.one_of(
    WHITESPACE,
    EMOJI,
    LONG,
    NUMBERS,
    TRICKY,
    COMMANDS,
    PHRASES,
    st.text(max_size=200),
    st.text(max_size=6),
)
GARBAGE_CHOICES = st.one_of(
    st.sampled_from(
        [
            "k:999999",
            "k:abc",
            "t:1",
            "t:",
            "m:abc",
            "m:-1",
            "s:0",
            "s:99",
            "s:x",
            "p:-1",
            "p:0",
            "c:1",
            "c:",
            "done",
            "next",
            "prev",
            "all",
            "save",
            "edit",
            "skip",
            "new",
            "groups",
            "rule",
            "move",
            "same",
            "izin",
            "selesai",
            "menu:attendance",
            "menu:commitment",
            "menu:kpm_message",
            "pesan:1",
            "pesan:99999",
            "pesan:x",
            "q:1",
            "reply",
            "done",
            "menu:nope",
            "menu:",
            "",
            " ",
            "💥",
        ]
    ),
    st.text(max_size=20),
)
MEDIA = st.sampled_from(
    [
        (),
        (Media(ref="x"),),
        (Media(ref="x", content_type="application/pdf"),),
        (Media(ref="x"), Media(ref="y", content_type="image/png")),
        (Media(ref="", content_type=""),),
    ]
)
_external_ids = itertools.count(1)


@dataclass(frozen=True)
class Offered:
    """Stands for the n-th option or toggle on screen when the message is sent: its value
    (a tap) or its label typed back in some case. Drawn without looking at the screen, so
    that generation never depends on the database."""

    index: int
    typed: bool = False
    case: Callable[[str], str] = str
    frame: str = "{}"

    def resolve(self, shown: list[Reply]) -> str | None:
        items = [(o.value, o.label) for r in shown for o in r.options]
        items += [(t.value, t.label) for r in shown for t in r.toggles]
        if not items:
            return None
        value, label = items[self.index % len(items)]
        return self.frame.format(self.case(label)) if self.typed else value


CASES: list[Callable[[str], str]] = [str.lower, str.upper, str.title, str.swapcase, str]
TYPED_LABEL = st.builds(
    Offered,
    index=st.integers(min_value=0, max_value=50),
    typed=st.just(True),
    case=st.sampled_from(CASES),
    frame=st.sampled_from(["{}", " {} ", "{}.", "{}..", "{}!"]),
)
TAPPED = st.builds(Offered, index=st.integers(min_value=0, max_value=50))


@dataclass(frozen=True)
class Probe:
    """A random message, before what is on screen is filled in."""

    text: str | Offered
    choice: str | Offered | None
    media: tuple[Media, ...]
    contact_phone: str | None
    with_external_id: bool

    def message(self, address: str, shown: list[Reply]) -> IncomingMessage:
        text = self.text if isinstance(self.text, str) else self.text.resolve(shown) or ""
        choice = self.choice.resolve(shown) if isinstance(self.choice, Offered) else self.choice
        return IncomingMessage(
            channel=address.split(":")[0],
            address=address,
            received_at=NOW,
            text=text,
            choice=choice,
            media=self.media,
            contact_phone=self.contact_phone,
            external_id=f"fuzz-{next(_external_ids)}" if self.with_external_id else None,
        )


PROBES = st.builds(
    Probe,
    text=st.one_of(TEXTS, TYPED_LABEL),
    choice=st.one_of(st.none(), GARBAGE_CHOICES, TAPPED),
    media=MEDIA,
    contact_phone=st.one_of(st.none(), st.sampled_from(["+6281299990001", "0812", "abc"])),
    with_external_id=st.booleans(),
)


# --- the world ------------------------------------------------------------------------------


@dataclass(repr=False)  # keeps hypothesis' report of a failing example short
class Fuzz:
    world: World
    engine: Engine
    clock: FixedClock
    sessions: async_sessionmaker[AsyncSession]
    reached: dict[str, Snapshot] = field(default_factory=dict)

    def chat(self, address: str) -> Chat:
        return Chat(self.engine, self.clock, address)


@dataclass(frozen=True)
class Snapshot:
    """The stored conversation a prefix left behind, and the replies it ended with."""

    flow: str | None
    step: str | None
    data: dict[str, Any]
    shown: list[Reply]


@pytest.fixture
async def fuzz(sessions: async_sessionmaker[AsyncSession]) -> Fuzz:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    found = Fuzz(world, make_engine(sessions, clock), clock, sessions)
    chat = found.chat(ANI)  # one open case, so that /kasus_saya has something to list
    for move in (*CASE_FOLLOW_UP, Tap(value="skip"), "biasa"):
        await send(chat, move)
    assert "#" in chat.text, chat.text
    return found


async def send(chat: Chat, move: Move) -> None:
    if isinstance(move, str):
        await chat.send(move)
        return
    offered = [o for reply in chat.last for o in reply.options]
    if move.value is not None:
        value = move.value
    elif move.index is not None:
        value = offered[move.index].value
    else:
        value = chat.option(move.label or "")
    assert value in {o.value for o in offered}, f"{value!r} is not offered: {chat.text!r}"
    await chat.send(choice=value)


async def play(fuzz: Fuzz, step: Step) -> Snapshot:
    """Start over and play the prefix through the engine; check where it stands."""
    chat = fuzz.chat(step.address)
    failures_before = fuzz.engine.failures
    if step.address != STRANGER:
        await chat.send("/batal")
    for move in step.prefix:
        await send(chat, move)
    assert fuzz.engine.failures == failures_before, f"the prefix itself failed at {step}"
    async with fuzz.sessions() as session:
        row = await session.scalar(select(Conversation).where(Conversation.address == step.address))
    if row is None:
        return Snapshot(None, None, {}, chat.last)
    assert (row.flow, row.step) == (step.flow, step.step), chat.text
    return Snapshot(row.flow, row.step, dict(row.data or {}), chat.last)


async def restore(fuzz: Fuzz, address: str, snapshot: Snapshot) -> None:
    """Put the conversation back where the prefix left it (all its state is in this row)."""
    async with fuzz.sessions.begin() as session:
        row = await session.scalar(select(Conversation).where(Conversation.address == address))
        if row is None:
            return
        row.flow, row.step, row.data = snapshot.flow, snapshot.step, copy.deepcopy(snapshot.data)
        row.expires_at = NOW + timedelta(minutes=10) if snapshot.flow else None


async def reach(fuzz: Fuzz, name: str) -> list[Reply]:
    """Reach a step: play its prefix the first time, restore its state afterwards."""
    step = STEPS[name]
    if name not in fuzz.reached or REPLAY_EVERY_EXAMPLE:
        fuzz.reached[name] = await play(fuzz, step)
    else:
        await restore(fuzz, step.address, fuzz.reached[name])
    return fuzz.reached[name].shown


@pytest.mark.parametrize("name", list(STEPS))
@settings(
    max_examples=EXAMPLES_PER_STEP,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(probe=PROBES)
async def test_any_input_at_any_step_gets_a_polite_reply(
    fuzz: Fuzz, name: str, probe: Probe
) -> None:
    step = STEPS[name]
    message = probe.message(step.address, await reach(fuzz, name))
    if step.command:
        message = replace(message, text=f"{step.command} {message.text}", choice=None)
    failures_before = fuzz.engine.failures
    outcome = await fuzz.engine.handle(message)
    replies = list(outcome.replies)
    crashed = fuzz.engine.failures - failures_before
    assert not crashed, f"a step crashed at {name}; see the logged traceback"
    assert not outcome.duplicate
    assert replies, f"no reply at {name}"
    assert all(reply.text.strip() for reply in replies), f"an empty reply at {name}: {replies}"
    assert all(GENERIC_ERROR not in reply.text for reply in replies), replies
