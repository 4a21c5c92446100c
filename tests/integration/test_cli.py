"""The command line, run as an operator runs it, against real databases."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import cli
from handlers.i18n import Translator
from models.db import create_engine, session_factory
from models.db.migrate import head_revision
from models.enums import Channel, StaffRole
from models.messaging.tables import Inbox, Outbox
from models.regions import RegionIndex
from models.staff import RedeemProblem, hash_code, redeem_invite
from models.tables import AuditLog, ChannelIdentity, Invite, Staff

CODE = re.compile(r"code: ([A-Z0-9]{4}-[A-Z0-9]{4})")


NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 30 November 2026, 09:00 in Jakarta


@pytest.fixture(autouse=True)
def clock():
    """The command line reads the system clock: every test here runs at ``NOW`` (time
    passes from there, as the event loop needs)."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def invoke(db_url: str, *args: str, extra_env: dict[str, str] | None = None):
    runner = CliRunner()
    env = {
        "PENDAMPING_DATABASE_URL": db_url,
        "PENDAMPING_CONFIG": "",
        "COLUMNS": "200",
        **(extra_env or {}),
    }
    return runner.invoke(cli, list(args), env=env)


def query(db_url: str, statement):
    async def run():
        engine = create_engine(db_url)
        try:
            async with session_factory(engine)() as session:
                return (await session.execute(statement)).all()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_init_on_an_empty_database_migrates_it_and_doctor_is_then_healthy(
    empty_db_url: str,
) -> None:
    unhealthy = invoke(empty_db_url, "doctor")
    assert unhealthy.exit_code == 1
    assert "run `pendamping init`" in unhealthy.output
    first = invoke(empty_db_url, "init")
    assert first.exit_code == 0, first.output
    assert f"is at migration {head_revision()}" in first.output
    assert invoke(empty_db_url, "init").exit_code == 0
    doctor = invoke(empty_db_url, "doctor")
    assert doctor.exit_code == 0, doctor.output
    assert "(newest)" in doctor.output
    assert "not configured" in doctor.output


def test_doctor_reports_an_unreachable_database_and_hides_the_password() -> None:
    result = invoke("postgresql+asyncpg://pkh:hunter2@127.0.0.1:1/none", "doctor")
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "hunter2" not in result.output


def test_a_bad_setting_stops_any_command_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[telegram]\nmode = "pigeon"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "init"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"config error: telegram.mode in {config}: expected 'polling' or 'webhook', got 'pigeon'"
    ]
    assert "Traceback" not in result.output


def test_an_invite_code_links_a_chat_address_once(db_url: str) -> None:
    result = invoke(db_url, "invite", "--role", "pendamping", "--name", "Ani  Suryani")
    assert result.exit_code == 0, result.output
    match = CODE.search(result.output)
    assert match, result.output
    code = match.group(1)
    assert "DAFTAR " + code in result.output
    (stored,) = query(db_url, select(Invite.code_hash))
    assert stored[0] == hash_code(code) and code not in stored[0]

    async def redeem(written: str, address: str, now: datetime):
        engine = create_engine(db_url)
        try:
            async with session_factory(engine).begin() as session:
                return await redeem_invite(session, written, address, now=now)
        finally:
            await engine.dispose()

    now = NOW
    linked = asyncio.run(redeem(code.lower().replace("-", ""), "telegram:42", now))
    assert linked.problem is None and linked.staff is not None
    assert linked.staff.name == "Ani Suryani"
    again = asyncio.run(redeem(code, "whatsapp:+6281234567890", now))
    assert again.problem is RedeemProblem.USED
    unknown = asyncio.run(redeem("ZZZZ-ZZZZ", "telegram:43", now))
    assert unknown.problem is RedeemProblem.UNKNOWN
    identities = query(db_url, select(ChannelIdentity.address, ChannelIdentity.staff_id))
    assert identities == [("telegram:42", linked.staff.id)]
    actions = {row[0] for row in query(db_url, select(AuditLog.action))}
    assert {"staff.create", "invite.create", "invite.redeem"} <= actions


def test_an_expired_invite_is_refused(db_url: str) -> None:
    result = invoke(db_url, "invite", "--role", "koordinator", "--name", "Dewi Lestari")
    code = CODE.search(result.output).group(1)  # type: ignore[union-attr]

    async def redeem_late():
        engine = create_engine(db_url)
        try:
            async with session_factory(engine).begin() as session:
                later = NOW + timedelta(days=15)
                return await redeem_invite(session, code, "telegram:7", now=later)
        finally:
            await engine.dispose()

    assert asyncio.run(redeem_late()).problem is RedeemProblem.EXPIRED


def test_inviting_an_existing_member_again_reuses_the_record(db_url: str) -> None:
    assert invoke(db_url, "invite", "--role", "pendamping", "--name", "Budi Santoso").exit_code == 0
    assert invoke(db_url, "invite", "--role", "pendamping", "--name", "budi santoso").exit_code == 0
    assert query(db_url, select(func.count()).select_from(Staff)) == [(1,)]
    assert query(db_url, select(func.count()).select_from(Invite)) == [(2,)]


def test_a_supervisor_invite_records_the_pendamping_overseen_and_staff_list_shows_it(
    db_url: str,
) -> None:
    invoke(db_url, "invite", "--role", "pendamping", "--name", "Citra Wulandari")
    result = invoke(
        db_url,
        "invite",
        "--role",
        "supervisor",
        "--name",
        "Eko Prasetyo",
        "--pendamping",
        "citra wulandari",
    )
    assert result.exit_code == 0, result.output
    rows = dict(query(db_url, select(Staff.name, Staff.supervisor_id)))
    supervisor_id = dict(query(db_url, select(Staff.name, Staff.id)))["Eko Prasetyo"]
    assert rows["Citra Wulandari"] == supervisor_id
    listing = invoke(db_url, "staff", "list", extra_env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    assert re.search(r"Citra Wulandari\s+│\s+-\s+│\s+Eko Prasetyo", listing.output), listing.output


def test_a_coordinator_invite_names_the_region_by_name_or_code(db_url: str) -> None:
    async def make_regions():
        engine = create_engine(db_url)
        try:
            async with session_factory(engine).begin() as session:
                index = await RegionIndex(session).load()
                await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju", "Kec. Sumber", "Desa X"])
        finally:
            await engine.dispose()

    asyncio.run(make_regions())
    result = invoke(
        db_url,
        "invite",
        "--role",
        "koordinator",
        "--name",
        "Dewi",
        "--region",
        "Kabupaten Sukamaju",
    )
    assert result.exit_code == 0, result.output
    by_code = invoke(db_url, "invite", "--role", "koordinator", "--name", "Wayan", "--region", "33")
    assert by_code.exit_code == 0, by_code.output
    missing = invoke(
        db_url, "invite", "--role", "koordinator", "--name", "Made", "--region", "Atlantis"
    )
    assert missing.exit_code == 1
    assert "no region named or coded 'Atlantis'" in missing.output
    assert query(db_url, select(func.count()).select_from(Staff)) == [(2,)]


@pytest.mark.parametrize("role", ["pendamping", "koordinator", "admin"])
def test_staff_list_shows_each_role(db_url: str, role: str) -> None:
    invoke(db_url, "invite", "--role", role, "--name", "Sri Rahayu")
    listing = invoke(db_url, "staff", "list", extra_env={"COLUMNS": "200"})
    assert "Sri Rahayu" in listing.output and role in listing.output
    assert StaffRole(role)


ROSTER = (
    "ID PKH;Nama;NIK;HP;Kelompok;Desa;Kecamatan;Kabupaten;Provinsi;Pendamping;Komponen\n"
    "P1;Siti Aminah;3301010101010001;0812-3456-7890;Melati;Sukamaju;Sumber;Kab. Banyumas;"
    "Jawa Tengah;Ani Suryani;SD:2016-01-02\n"
    "P2;Sri;123;0812;Melati;Sukamaju;Sumber;Kab. Banyumas;Jawa Tengah;Ani Suryani;xx\n"
)


def test_import_roster_reports_bad_rows_and_strict_writes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    from models.tables import Kpm

    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    strict = invoke(db_url, "import-roster", str(roster), "--strict")
    assert strict.exit_code == 1
    assert "row 3: NIK must have 16 digits, got 3" in strict.output
    assert query(db_url, select(func.count()).select_from(Kpm)) == [(0,)]
    rejects = tmp_path / "rejects.csv"
    result = invoke(db_url, "import-roster", str(roster), "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "1 were imported" in result.output and "1 rejected" in result.output
    assert query(db_url, select(Kpm.id_pkh, Kpm.phone)) == [("P1", "+6281234567890")]
    assert "alasan" in rejects.read_text(encoding="utf-8-sig").splitlines()[0]
    again = invoke(db_url, "import-roster", str(roster))
    assert "0 were imported, 0 were updated, 1 unchanged" in again.output
    missing = invoke(db_url, "import-roster", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "nope.csv" in missing.output


def test_outbox_and_doctor_say_what_waits_for_a_channel_that_is_not_configured(
    db_url: str,
) -> None:
    from models.enums import Channel
    from models.messaging.enqueue import Enqueue, Priority, enqueue

    async def queue() -> None:
        engine = create_engine(db_url)
        try:
            async with session_factory(engine).begin() as session:
                await enqueue(
                    session,
                    [
                        Enqueue(
                            Channel.WHATSAPP,
                            f"whatsapp:+62812000000{n}",
                            "meeting_reminder",
                            {"text": "x"},
                            Priority.REMINDER,
                        )
                        for n in range(3)
                    ],
                    now=NOW,
                )
        finally:
            await engine.dispose()

    asyncio.run(queue())
    sentence = (
        "3 pending messages wait for whatsapp, which is not configured here (set "
        "twilio.account_sid and twilio.auth_token); they fail at their deadline"
    )
    outbox = invoke(db_url, "outbox")
    assert outbox.exit_code == 0, outbox.output
    assert sentence in " ".join(outbox.output.split())
    doctor = invoke(db_url, "doctor")
    assert "outbox waiting" in doctor.output
    assert "3 pending messages wait for whatsapp" in " ".join(doctor.output.split())


def test_inbox_and_doctor_show_the_backlog_its_age_and_failures_without_personal_data(
    db_url: str,
) -> None:
    from models.enums import Channel
    from models.messaging.inbox import Arrival, claim, mark_failed, store

    sender = "whatsapp:+6281299990001"
    arrived = NOW - timedelta(minutes=12)

    async def arrive() -> None:
        engine = create_engine(db_url)
        try:
            sessions = session_factory(engine)
            async with sessions.begin() as session:
                await store(
                    session,
                    [
                        Arrival(Channel.WHATSAPP, f"SM{n}", sender, {"Body": "kartu KKS saya"})
                        for n in range(3)
                    ],
                    now=arrived,
                )
            async with sessions.begin() as session:
                (first,) = await claim(session, now=arrived, lease=timedelta(seconds=60), limit=1)
                await mark_failed(session, first.id, now=arrived, error="RuntimeError: a bug")
        finally:
            await engine.dispose()

    asyncio.run(arrive())
    shown = invoke(db_url, "inbox")
    assert shown.exit_code == 0, shown.output
    flat = " ".join(shown.output.split())
    assert "2 messages wait to be handled; the oldest arrived 12 min" in flat
    assert "RuntimeError: a bug" in flat
    assert "+62812" not in flat and "KKS" not in flat
    doctor = " ".join(invoke(db_url, "doctor").output.split())
    assert "inbox backlog" in doctor and "2 waiting, oldest 12 min" in doctor
    assert "is `pendamping run` running?" in doctor
    assert "1 failed; latest: #" in doctor and "RuntimeError: a bug" in doctor


def test_inbox_on_an_empty_database_says_so(db_url: str) -> None:
    shown = invoke(db_url, "inbox")
    assert shown.exit_code == 0, shown.output
    assert "The inbox is empty." in shown.output
    assert "nothing waiting" in invoke(db_url, "doctor").output


def test_the_terminal_chat_goes_through_the_inbox_and_the_outbox_like_every_channel(
    db_url: str,
) -> None:
    """A replayed script: each line is stored in the inbox and handled, its replies are
    outbox rows sent by the dispatcher to the console, and the transcript shows them in
    order after the line they answer."""
    assert invoke(db_url, "init", "--demo").exit_code == 0
    t = Translator()
    result = CliRunner().invoke(
        cli,
        ["chat", "--as", "Ani Suryani"],
        input="/mulai\n/bantuan\n/tidakada\n/keluar\n/bantuan\n",
        env={"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("> /mulai") < out.index(t("menu.title")) < out.index("> /bantuan")
    assert out.index("> /bantuan") < out.index(t("help.general")) < out.index("> /tidakada")
    assert t("command.unknown", command="tidakada") in out
    assert out.count(t("help.general")) == 1  # nothing after /keluar is sent
    inbox = query(
        db_url, select(Inbox.status, func.count()).group_by(Inbox.status)
    )
    assert [(status.value, n) for status, n in inbox] == [("done", 3)]
    outbox = query(
        db_url,
        select(Outbox.channel, Outbox.status, func.count())
        .where(Outbox.channel == Channel.CONSOLE)
        .group_by(Outbox.channel, Outbox.status),
    )
    assert [(channel.value, status.value, n) for channel, status, n in outbox] == [
        ("console", "sent", 3)
    ]


def test_doctor_names_a_region_where_no_coordinator_can_be_reached(db_url: str) -> None:
    assert invoke(db_url, "init", "--demo").exit_code == 0
    before = invoke(db_url, "doctor")
    line = next(row for row in before.output.splitlines() if "coordinators" in row)
    assert "WARN" in line and "Sukamaju" in line  # Dewi has not linked her chat yet
    linked = CliRunner().invoke(
        cli,
        ["chat", "--as", "Dewi Lestari"],
        input="/bantuan\n",
        env={"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200"},
    )
    assert linked.exit_code == 0, linked.output
    after = invoke(db_url, "doctor")
    line = next(row for row in after.output.splitlines() if "coordinators" in row)
    assert "OK" in line and "Sukamaju" not in line
