"""Staff who change, from the command line as an operator does it: a pendamping leaves and
hands her kelompok over, comes back, changes role, loses a phone; a kelompok moves from one
pendamping to another. Against real databases, with the rows each change leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import cli
from models.db import create_engine, session_factory
from models.enums import CaseStatus, Channel, OutboxStatus, StaffRole
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Conversation, Outbox
from models.staff_changes import STOPPED
from models.tables import AuditLog, CaseNote, ChannelIdentity, Kelompok, Staff
from tests.cli_text import said, t

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ANI, BUDI = "console:ani-suryani", "console:budi-santoso"
ANI_CHANNEL = Channel.CONSOLE


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def invoke(db_url: str, *args: str, script: str | None = None):
    env = {"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200"}
    return CliRunner().invoke(cli, list(args), env=env, input=script)


def run(db_url: str, work):  # noqa: ANN001, ANN201
    async def go():  # noqa: ANN202
        engine = create_engine(db_url)
        try:
            async with session_factory(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def staff_id(db_url: str, name: str) -> int:
    async def work(session):  # noqa: ANN001, ANN202
        return await session.scalar(select(Staff.id).where(Staff.name == name))

    return run(db_url, work)


def kelompok_of(db_url: str, owner: int) -> list[str]:
    async def work(session):  # noqa: ANN001, ANN202
        rows = await session.scalars(
            select(Kelompok.name).where(Kelompok.pendamping_id == owner).order_by(Kelompok.name)
        )
        return list(rows)

    return run(db_url, work)


@pytest.fixture
def demo(db_url: str) -> str:
    assert invoke(db_url, "init", "--demo").exit_code == 0
    for name in ("Ani Suryani", "Budi Santoso"):  # both link a chat
        assert invoke(db_url, "chat", "--as", name, script="/hadir\n").exit_code == 0
    return db_url


def test_a_pendamping_who_leaves_hands_everything_over_and_her_chat_is_told(demo: str) -> None:
    ani, budi = staff_id(demo, "Ani Suryani"), staff_id(demo, "Budi Santoso")
    hers = kelompok_of(demo, ani)
    refused = invoke(demo, "staff", "deactivate", "Ani Suryani")
    assert refused.exit_code == 1
    assert t("cli.error", message=t(
        "cli.staff_error.still_has_kelompok", name="Ani Suryani", count=len(hers)
    )) in refused.output
    assert "--to" in refused.output
    assert kelompok_of(demo, ani) == hers  # nothing changed

    async def waiting(session):  # noqa: ANN001, ANN202
        await enqueue(session, [
            Enqueue(ANI_CHANNEL, ANI, "pendamping_nudge",
                    {"key": "nudge.no_attendance", "values": {"kelompok": hers[0], "date": "x"}},
                    Priority.NUDGE, dedupe_key="test-nudge"),
            Enqueue(ANI_CHANNEL, ANI, "reply", {"text": "halo"}, Priority.REPLY),
        ], now=NOW)
        return await session.scalar(
            select(func.count()).select_from(CaseNote)
            .where(CaseNote.staff_id == ani, CaseNote.status != CaseStatus.SELESAI)
        )

    her_cases = run(demo, waiting)
    result = invoke(demo, "staff", "deactivate", "Ani Suryani", "--to", "Budi Santoso")
    assert result.exit_code == 0, result.output
    handover = said(
        "cli.staff.handover", count=len(hers), target="Budi Santoso", cases=her_cases, moved=1,
        told="Budi Santoso",
    )
    assert t("cli.staff.deactivated", name="Ani Suryani") + "; " in result.output
    assert handover.search(result.output), result.output
    assert "+62" not in result.output

    async def after(session):  # noqa: ANN001, ANN202
        staff = await session.get(Staff, ani)
        cases = await session.scalar(
            select(func.count()).select_from(CaseNote)
            .where(CaseNote.staff_id == ani, CaseNote.status != CaseStatus.SELESAI)
        )
        outbox = {
            (row.kind, row.address, row.status, row.error, (row.payload.get("key")))
            for row in await session.scalars(select(Outbox).where(Outbox.kind != "reply"))
        }
        (stopped,) = [
            row
            for row in await session.scalars(
                select(Outbox).where(Outbox.kind == "reply", Outbox.address == ANI)
            )
            if row.payload.get("text") == "halo"
        ]
        conversations = await session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.address == ANI)
        )
        audited = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action.in_(
                ("staff.deactivate", "kelompok.reassign")))
        )
        return staff.active, cases, outbox, stopped, conversations, audited

    active, cases, outbox, stopped, conversations, audited = run(demo, after)
    assert (active, cases, conversations, audited) == (False, 0, 0, 2)
    assert set(hers) <= set(kelompok_of(demo, budi))
    assert ("pendamping_nudge", BUDI, OutboxStatus.PENDING, None, "nudge.no_attendance") in outbox
    assert ("alert", BUDI, OutboxStatus.PENDING, None, "staff.received") in outbox
    assert (stopped.status, stopped.error) == (OutboxStatus.FAILED, STOPPED)

    chat = invoke(demo, "chat", "--as", "Ani Suryani", script="/hadir\n")
    assert t("access.ended") in chat.output
    assert t("register.unknown_sender") not in chat.output
    listing = invoke(demo, "staff", "list")
    ani_line = next(line for line in listing.output.splitlines() if "Ani Suryani" in line)
    assert ani_line.rstrip(" │|").endswith(f" {t('cli.no')}")  # not active

    back = invoke(demo, "staff", "reactivate", "Ani Suryani")
    assert back.exit_code == 0 and t("cli.staff.reactivated", name="Ani Suryani") in back.output
    again = invoke(demo, "staff", "reactivate", "Ani Suryani")
    assert again.exit_code == 1
    assert t("cli.staff_error.already_active", name="Ani Suryani") in again.output
    role = invoke(demo, "staff", "role", "Ani Suryani", "supervisor")
    assert role.exit_code == 0
    assert t("cli.staff.role_changed", name="Ani Suryani", before="pendamping",
             after="supervisor") in role.output
    unlinked = invoke(demo, "staff", "unlink", str(ani), ANI)
    assert unlinked.exit_code == 0
    assert t("cli.staff.unlinked", name="Ani Suryani") in unlinked.output

    async def identities(session):  # noqa: ANN001, ANN202
        return await session.scalar(
            select(func.count()).select_from(ChannelIdentity).where(ChannelIdentity.staff_id == ani)
        ), (await session.get(Staff, ani)).role

    assert run(demo, identities) == (0, StaffRole.SUPERVISOR)


def test_one_kelompok_moves_and_bad_names_change_nothing(demo: str) -> None:
    budi, citra = staff_id(demo, "Budi Santoso"), staff_id(demo, "Citra Wulandari")
    his = kelompok_of(demo, budi)
    moved = invoke(
        demo, "kelompok", "reassign", "--from", "Budi", "--to", "Citra", "--kelompok", his[0]
    )
    assert moved.exit_code == 0, moved.output
    assert said("cli.staff.handover", count=1, target="Citra Wulandari", groups=his[0]).search(
        moved.output
    ), moved.output
    assert moved.output.startswith(t("cli.staff.reassigned", name="Budi Santoso", handover=""))
    assert kelompok_of(demo, budi) == his[1:]
    assert his[0] in kelompok_of(demo, citra)
    missing = invoke(
        demo, "kelompok", "reassign", "--from", "Budi", "--to", "Citra", "--kelompok", "Tidak Ada"
    )
    assert missing.exit_code == 1
    assert t("cli.staff_error.no_such_kelompok", name="Budi Santoso", kelompok="tidak ada") in (
        missing.output
    )
    same = invoke(demo, "kelompok", "reassign", "--from", "Budi", "--to", "Budi Santoso")
    assert same.exit_code == 1
    assert t("cli.staff_error.same_pendamping", name="Budi Santoso") in same.output
    ambiguous = invoke(demo, "staff", "deactivate", "a")
    assert ambiguous.exit_code == 1
    assert said("cli.staff_error.ambiguous", name="a").search(ambiguous.output)
    to_coordinator = invoke(demo, "kelompok", "reassign", "--from", "Budi", "--to", "Dewi")
    assert to_coordinator.exit_code == 1
    assert t("cli.staff_error.not_pendamping", name="Dewi Lestari") in to_coordinator.output
    assert kelompok_of(demo, budi) == his[1:]
