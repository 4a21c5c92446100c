"""The command line, run as an operator runs it, against real databases."""

from __future__ import annotations

import asyncio
import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import cli
from bot.commands import safe_url
from handlers.i18n import Translator
from models.db import create_engine, session_factory
from models.db.migrate import head_revision
from models.enums import Channel, StaffRole
from models.messaging.tables import Inbox, Outbox
from models.regions import RegionIndex
from models.staff import RedeemProblem, hash_code, redeem_invite
from models.tables import AuditLog, ChannelIdentity, Invite, Staff
from tests.cli_text import flat, said, t

CODE = re.compile(
    re.escape(t("cli.invite.code", code="\0", days=14).split("\0")[0])  # "kode: "
    + r"(?:\[bold\])?([A-Z0-9]{4}-[A-Z0-9]{4})"
)


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
    behind = t("cli.doctor.migrations_behind", level=t("cli.doctor.no_migration"),
               head=head_revision())
    assert behind in unhealthy.output and "`pendamping init`" in behind
    first = invoke(empty_db_url, "init")
    assert first.exit_code == 0, first.output
    assert t("cli.init.migrated", url=safe_url(empty_db_url), level=head_revision()) in flat(
        first.output
    )
    assert invoke(empty_db_url, "init").exit_code == 0
    doctor = invoke(empty_db_url, "doctor")
    assert doctor.exit_code == 0, doctor.output
    assert t("cli.doctor.migrations_newest", level=head_revision()) in doctor.output
    assert t("cli.doctor.telegram_off") in doctor.output


def test_doctor_reports_an_unreachable_database_and_hides_the_password() -> None:
    result = invoke("postgresql+asyncpg://pkh:hunter2@127.0.0.1:1/none", "doctor")
    assert result.exit_code == 1
    line = next(row for row in result.output.splitlines() if t("cli.doctor.database") in row)
    assert t("cli.doctor.fail") in line and "127.0.0.1" in line
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


def test_a_locale_without_a_catalog_is_a_setting_error_not_a_crash(tmp_path: Path) -> None:
    config = tmp_path / "fr.toml"
    config.write_text('[general]\nlocale = "fr"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "staff", "list"])
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.strip()] == [
        f"config error: general.locale in {config}: expected a locale with a message catalog "
        "('id' or 'en'), got 'fr'"
    ]


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
    assert t("cli.error", message=t("cli.region.unknown", region="Atlantis")) in missing.output
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
    reasons = "; ".join([
        t("roster.nik_length", column="NIK", digits=3),
        t("roster.phone_impossible", column="HP"),
        t("roster.komponen_unknown", column="Komponen", value="xx"),
    ])
    refused = t("roster.rejected_row", row=3, reasons=reasons)
    assert refused in flat(strict.output)
    assert t("cli.roster.strict") in strict.output
    assert t("cli.error", message=t("cli.roster.some_rejected")) in strict.output
    assert "123" not in refused and "0812" not in strict.output  # no NIK, no phone
    assert query(db_url, select(func.count()).select_from(Kpm)) == [(0,)]
    rejects = tmp_path / "rejects.csv"
    result = invoke(db_url, "import-roster", str(roster), "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert t("cli.roster.summary", rows=2, imported=1, updated=0, unchanged=0, rejected=1) in (
        result.output
    )
    assert query(db_url, select(Kpm.id_pkh, Kpm.phone)) == [("P1", "+6281234567890")]
    written = list(csv.reader(rejects.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert written[0][-1] == "alasan" and written[1][-1] == refused  # the text printed
    again = invoke(db_url, "import-roster", str(roster))
    assert t("cli.roster.summary", rows=2, imported=0, updated=0, unchanged=1, rejected=1) in (
        again.output
    )
    missing = invoke(db_url, "import-roster", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert t("cli.error", message=t("roster.file_not_found", file="nope.csv")) in missing.output


def test_a_rejected_row_names_its_row_and_column_in_indonesian_by_default(
    db_url: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    result = invoke(db_url, "import-roster", str(roster), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Baris 3: kolom NIK: harus 16 digit, tertulis 3 digit; kolom HP: " in flat(
        result.output
    )
    assert "Uji coba (--dry-run): tidak ada yang ditulis." in result.output
    assert "2 baris dibaca: 1 akan diimpor" in result.output


def test_with_general_locale_en_the_commands_print_english(db_url: str, tmp_path: Path) -> None:
    """English is the second locale: the same catalog keys, said in English."""
    english = {"PENDAMPING_GENERAL_LOCALE": "en"}
    en = Translator("en")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    result = invoke(db_url, "import-roster", str(roster), "--dry-run", extra_env=english)
    assert result.exit_code == 0, result.output
    assert "Row 3: NIK: must have 16 digits, got 3; HP: " in flat(result.output)
    assert "2 rows read: 1 would be imported, 0 would be updated, 0 unchanged, 1 rejected." in (
        result.output
    )
    assert en("cli.roster.dry_run") == "Dry run: nothing was written."
    assert en("cli.roster.dry_run") in result.output
    assert "Baris" not in result.output and "dibaca" not in result.output
    doctor = invoke(db_url, "doctor", extra_env=english)
    assert doctor.exit_code == 0, doctor.output
    assert re.search(r"check\s+┃\s+status\s+┃\s+detail", doctor.output), doctor.output
    assert f"at {head_revision()} (newest)" in doctor.output
    assert "not configured (no token)" in doctor.output
    for indonesian in ("pemeriksaan", "terbaru", "belum dikonfigurasi", "PERINGATAN"):
        assert indonesian not in doctor.output
    missing = invoke(db_url, "import-roster", str(tmp_path / "nope.csv"), extra_env=english)
    assert missing.exit_code == 1
    assert "error: nope.csv: no such file" in missing.output


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
    sentence = t(
        "cli.outbox.waiting_unconfigured", count=3, channel="whatsapp",
        hint=t("cli.outbox.hint_twilio"),
    )
    assert "twilio.account_sid dan twilio.auth_token" in sentence
    outbox = invoke(db_url, "outbox")
    assert outbox.exit_code == 0, outbox.output
    assert sentence in flat(outbox.output)
    doctor = invoke(db_url, "doctor")
    assert t("cli.doctor.outbox_waiting") in doctor.output
    assert sentence.split(",")[0] in flat(doctor.output)  # "3 pesan tertunda menunggu whatsapp"


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
    printed = flat(shown.output)
    twelve_minutes = said("cli.age.minutes", minutes=12).pattern
    assert re.search(said("cli.inbox.waiting", count=2, age="@").pattern.replace(
        "@", twelve_minutes), printed), printed
    assert "RuntimeError: a bug" in printed
    assert "+62812" not in printed and "KKS" not in printed
    doctor = flat(invoke(db_url, "doctor").output)
    assert t("cli.doctor.inbox_backlog") in doctor
    late = said("cli.doctor.backlog_late", count=2, age="@").pattern.replace("@", twelve_minutes)
    assert re.search(late, doctor), doctor
    assert "`pendamping run`" in t("cli.doctor.backlog_late", count=2, age="x")
    assert t("cli.doctor.failed", count=1, latest="#") in doctor
    assert "RuntimeError: a bug" in doctor


def test_inbox_on_an_empty_database_says_so(db_url: str) -> None:
    shown = invoke(db_url, "inbox")
    assert shown.exit_code == 0, shown.output
    assert t("cli.inbox.empty") in shown.output
    assert t("cli.doctor.nothing_waiting") in invoke(db_url, "doctor").output


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
    row_of = re.compile(rf"^\W*{re.escape(t('cli.doctor.coordinators'))}\s+│")
    line = next(row for row in before.output.splitlines() if row_of.match(row))
    assert t("cli.doctor.warn") in line and "Sukamaju" in line  # Dewi has not linked her chat
    linked = CliRunner().invoke(
        cli,
        ["chat", "--as", "Dewi Lestari"],
        input="/bantuan\n",
        env={"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200"},
    )
    assert linked.exit_code == 0, linked.output
    after = invoke(db_url, "doctor")
    line = next(row for row in after.output.splitlines() if row_of.match(row))
    assert t("cli.doctor.ok") in line and "Sukamaju" not in line
    assert t("cli.doctor.coordinators_ok") in line


def test_import_roster_reports_shared_and_changed_phones(db_url: str, tmp_path: Path) -> None:
    """Two families on one phone (a neighbour's) are taken and reported, as is a phone
    changed by a later file."""
    from models.tables import Kpm

    head = "ID PKH;Nama;NIK;HP;Kelompok;Desa;Kecamatan;Kabupaten;Provinsi;Pendamping;Komponen\n"
    place = "Melati;Sukamaju;Sumber;Kab. Banyumas;Jawa Tengah;Ani Suryani;SD:2016-01-02\n"
    roster = tmp_path / "roster.csv"
    roster.write_text(
        head + f"P1;Siti Aminah;3301014101010001;0812-3456-7890;{place}"
        f"P2;Sri Wahyuni;3301014101010002;0812-3456-7890;{place}"
        f"P3;Rina Wati;3301014101010003;0812-3456-7891;{place}",
        encoding="utf-8",
    )
    first = invoke(db_url, "import-roster", str(roster))
    assert first.exit_code == 0, first.output
    for row in (2, 3):
        assert t("cli.roster.shared_phone", row=row, count=2) in first.output
    assert "Baris 4" not in first.output and "7890" not in first.output
    roster.write_text(
        head + f"P1;Siti Aminah;3301014101010001;0812-3456-7890;{place}"
        f"P2;Sri Wahyuni;3301014101010002;0812-3456-7899;{place}"
        f"P3;Rina Wati;3301014101010003;0812-3456-7891;{place}",
        encoding="utf-8",
    )
    second = invoke(db_url, "import-roster", str(roster))
    assert t("cli.roster.summary", rows=3, imported=0, updated=1, unchanged=2, rejected=0) in (
        second.output
    )
    assert t("cli.roster.phones_changed", count=1) in second.output
    assert t("cli.roster.shared_phone", row=2, count=2) not in second.output
    assert query(db_url, select(Kpm.phone).where(Kpm.id_pkh == "P2")) == [("+6281234567899",)]
