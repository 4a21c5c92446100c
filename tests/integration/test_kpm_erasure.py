"""A family's own access and erasure requests (UU PDP 27/2022), as an operator makes them:
`pendamping kpm export` writes everything held on the family, readable by the service's
user only; `pendamping kpm erase` takes the name, NIK, phone, chats, texts and photos out
of every table while the digest, the exports and the search count the family as before."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import stat
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import cli
from handlers.i18n import Translator
from models import media_erasure
from models.db import create_engine, session_factory
from models.enums import Channel, KpmMessageStatus, KpmStatus, OutboxStatus
from models.erasure import ERASED_NIK, WITHDRAWN, erase, erased_address, family_media, pseudonym
from models.kpm import search_kpm
from models.media_erasure import MediaErasure
from models.messaging.tables import Conversation, Inbox, Outbox
from models.tables import (
    Attendance,
    AuditLog,
    CaseNote,
    CaseUpdate,
    ChannelIdentity,
    CommitmentCheck,
    Kelompok,
    Kpm,
    KpmMessage,
    MediaAttachment,
    Rsvp,
    Staff,
)
from reporting.digest import DigestOptions, build_digest
from reporting.export_files import ExportFormat
from reporting.exports import ExportKind, ExportRequest, Period, write_export
from tests.cli_text import flat, said, t
from tests.erasure_world import (
    CASE_TEXT,
    NAME,
    NOTE,
    PESAN,
    PHOTO,
    REASON,
    UPDATE_NOTE,
    Family,
    build_family_world,
    found_anywhere,
    needles,
)
from tests.world import NOW

PERIOD = Period(date(2026, 9, 1), date(2026, 11, 22))


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def invoke(db_url: str, *args: str, answer: str | None = None):
    env = {"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200"}
    return CliRunner().invoke(cli, list(args), env=env, input=answer)


def run(db_url: str, work):  # noqa: ANN001, ANN201
    async def go():  # noqa: ANN202
        engine = create_engine(db_url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def family(db_url: str) -> Family:
    return run(db_url, build_family_world)


async def _exports(sessions) -> dict[str, list[list[str]]]:  # noqa: ANN001
    rows = {}
    translate = Translator("id")
    async with sessions() as session:
        for kind in ExportKind:
            out = io.BytesIO()
            request = ExportRequest(kind=kind, period=PERIOD, scope=select(Kelompok.id))
            await write_export(session, request, out, ExportFormat.CSV, translate)
            text = out.getvalue().decode("utf-8-sig")
            rows[kind.value] = list(csv.reader(io.StringIO(text), delimiter=";"))
    return rows


async def _figures(sessions, family: Family) -> dict[str, Any]:  # noqa: ANN001
    """What the coordinator's digest, the exports and the search say."""
    async with sessions() as session:
        dewi = await session.get(Staff, family.world.dewi)
        ani = await session.get(Staff, family.world.ani)
        digest = await build_digest(
            session, dewi, as_of=NOW, options=DigestOptions(), translate=Translator("id")
        )
        hits = await search_kpm(session, ani, NAME)
    return {
        "digest": asdict(digest.figures),
        "digest_text": digest.text,
        "exports": await _exports(sessions),
        "search": [hit.id for hit in hits],
    }


def _as_erased(value: Any, family: Family) -> Any:
    """What a figure said of the family before, as it reads once the family is erased:
    the pseudonym for the name, its texts gone."""
    if isinstance(value, str):
        if value in (NOTE, CASE_TEXT):
            return ""
        return value.replace(NAME, pseudonym(family.kpm_id))
    if isinstance(value, list):
        return [_as_erased(item, family) for item in value]
    if isinstance(value, tuple):
        return tuple(_as_erased(item, family) for item in value)
    if isinstance(value, dict):
        return {key: _as_erased(item, family) for key, item in value.items()}
    return value


def test_an_export_holds_every_kind_of_data_on_the_family_and_only_its_user_can_read_it(
    db_url: str, family: Family, tmp_path: Path
) -> None:
    path = tmp_path / "siti.json"
    result = invoke(db_url, "kpm", "export", family.nik, "--out", str(path))  # by NIK
    assert result.exit_code == 0, result.output
    assert said("cli.kpm_export.written", id_pkh=family.id_pkh).search(flat(result.output))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    sheets = document["sheets"]
    assert document["id_pkh"] == family.id_pkh
    assert {kind for kind, rows in sheets.items() if not rows} == set()  # every kind held
    (record,) = sheets["kpm"]
    assert (record["nama_pengurus"], record["nik"], record["phone"]) == (
        NAME, family.nik, family.phone  # the family's own: in full
    )
    assert record["kelompok"] == "Kelompok Melati"
    assert [row["mark"] for row in sheets["attendance"]] == ["hadir", "alpa", "alpa"]
    assert sheets["attendance"][0]["note"] == NOTE
    assert sheets["rsvp"][0]["reason"] == REASON
    assert sheets["cases"][0]["description"] == CASE_TEXT
    assert sheets["case_updates"][-1]["note"] == UPDATE_NOTE
    assert sheets["commitment_checks"][0]["evidence_ref"].endswith("rekap.jpg")
    assert sheets["media"][0]["media_ref"].endswith("kks.jpg")
    assert sheets["pesan"][0]["text"] == PESAN
    assert sheets["inbox"][0]["address"] == f"whatsapp:{family.phone}"
    assert {row["kind"] for row in sheets["outbox"]} >= {"meeting_reminder"}
    assert {row["address"] for row in sheets["outbox"]} == {
        f"whatsapp:{family.phone}", f"whatsapp:{family.old_phone}"  # the one she had before
    }
    assert sheets["channel_identities"][0]["address"] == f"whatsapp:{family.phone}"
    actions = {row["action"] for row in sheets["audit"]}
    assert {"kpm.phone", "case.open", "case.update", "rsvp.answer", "graduation.assess",
            "kpm.programmes", "identity.link_kpm"} <= actions
    assert all(row["address"] != "console:ani" for row in sheets["outbox"])  # hers only

    workbook_path = tmp_path / "siti.xlsx"
    result = invoke(db_url, "kpm", "export", family.id_pkh, "--out", str(workbook_path))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(workbook_path.stat().st_mode) == 0o600
    book = openpyxl.load_workbook(workbook_path, read_only=True)
    assert book.sheetnames == [
        t("cli.kpm_export.summary"),
        *(t(f"cli.kpm_export.sheet.{kind}") for kind in sheets),
    ]
    kpm_sheet = list(book[t("cli.kpm_export.sheet.kpm")].iter_rows(values_only=True))
    assert NAME in kpm_sheet[1] and family.nik in kpm_sheet[1]

    async def exports(sessions):  # noqa: ANN001, ANN202
        async with sessions() as session:
            return list(await session.scalars(
                select(AuditLog).where(AuditLog.action == "kpm.export")
            ))

    audited = run(db_url, exports)
    assert [(a.actor, a.entity, a.entity_id) for a in audited] == [
        ("cli", "kpm", family.kpm_id)
    ] * 2
    assert set(audited[0].detail) == {"format", "rows"}  # no values

    wrong = invoke(db_url, "kpm", "export", family.id_pkh, "--out", str(tmp_path / "x.csv"))
    assert wrong.exit_code == 1
    unknown = invoke(db_url, "kpm", "export", "PKH-NONE", "--out", str(path))
    assert unknown.exit_code == 1
    assert t("cli.kpm_error.unknown_subject", id="PKH-NONE") in flat(unknown.output)


def test_erasure_leaves_the_figures_as_they_were_and_the_family_nowhere(
    db_url: str, family: Family, tmp_path: Path
) -> None:
    before = run(db_url, lambda sessions: _figures(sessions, family))
    assert before["search"] == [family.kpm_id]
    assert NAME in before["digest_text"]  # an absentee, named
    assert run(db_url, lambda sessions: found_anywhere(sessions, [NAME]))  # it is there

    result = invoke(
        db_url, "kpm", "erase", family.id_pkh, "--reason", "permintaan KPM", answer="ya\n"
    )
    assert result.exit_code == 0, result.output
    output = flat(result.output)
    assert said("cli.kpm_erase.confirm", id_pkh=family.id_pkh, messages=1, cases=1,
                photos=2, waiting=3).search(output), output
    assert said("cli.kpm_erase.done", id_pkh=family.id_pkh,
                pseudonym=pseudonym(family.kpm_id), withdrawn=3).search(output), output
    assert NAME not in result.output and family.nik not in result.output

    after = run(db_url, lambda sessions: _figures(sessions, family))
    assert after["search"] == []  # her name finds nobody
    expected = _as_erased(before["exports"], family)
    for kind, rows in after["exports"].items():  # the same rows (in name order: hers moved)
        assert rows[0] == expected[kind][0] and sorted(rows) == sorted(expected[kind]), kind
    figures = _as_erased(before["digest"], family)
    for pendamping in (*figures["pendamping"], *after["digest"]["pendamping"]):
        pendamping.pop("reach")  # who a reminder can reach: she no longer can be
    assert after["digest"] == figures
    assert pseudonym(family.kpm_id) in after["digest_text"]
    assert run(db_url, lambda sessions: found_anywhere(sessions, needles(family))) == {}

    again = invoke(db_url, "kpm", "erase", family.id_pkh, "--reason", "lagi", "--yes")
    assert again.exit_code == 0, again.output
    assert t("cli.kpm_erase.already", id_pkh=family.id_pkh, date="2026-11-22") in flat(
        again.output
    )
    by_nik = invoke(db_url, "kpm", "erase", family.nik, "--reason", "lagi", "--yes")
    assert by_nik.exit_code == 1  # the NIK is gone: the family is found by its ID PKH

    # Next month's roster from the ministry still lists her: it brings nothing back.
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "ID PKH;Nama Pengurus;NIK;No HP;Nama Kelompok;Desa/Kelurahan;Kecamatan;"
        "Kabupaten/Kota;Provinsi;Nama Pendamping\n"
        f"{family.id_pkh};{NAME};{family.nik};{family.phone};Kelompok Melati;Desa Sukamaju;"
        "Kec. Sumber;Kab. Sukamaju;Jawa Tengah;Ani Suryani\n",
        encoding="utf-8",
    )
    imported = invoke(db_url, "import-roster", str(roster))
    assert imported.exit_code == 0, imported.output
    assert t("cli.roster.erased", count=1) in flat(imported.output)
    assert run(db_url, lambda sessions: found_anywhere(sessions, needles(family))) == {}

    async def rows(sessions):  # noqa: ANN001, ANN202
        async with sessions() as session:
            return {
                "kpm": await session.get(Kpm, family.kpm_id),
                "audit": list(await session.scalars(
                    select(AuditLog).where(AuditLog.action == "kpm.erase")
                )),
                "phone_changes": list(await session.scalars(
                    select(AuditLog.detail).where(AuditLog.action == "kpm.phone")
                )),
                "waiting": await session.get(Outbox, family.waiting_reminder_id),
                "to_her": list(await session.scalars(
                    select(Outbox).where(Outbox.address == erased_address(family.kpm_id))
                )),
                "notice": await session.scalar(select(Outbox).where(Outbox.kind == "pesan_kpm")),
                "pesan": await session.scalar(select(KpmMessage)),
                "identities": list(await session.scalars(
                    select(ChannelIdentity).where(ChannelIdentity.kpm_id.is_not(None))
                )),
                "inbox": await session.scalar(select(func.count()).select_from(Inbox)),
                "conversations": list(await session.scalars(select(Conversation.address))),
                "media": await session.scalar(select(func.count()).select_from(MediaAttachment)),
                "evidence": await session.scalar(select(CommitmentCheck.evidence_ref)),
                "case": await session.get(CaseNote, family.case_id),
                "updates": list(await session.scalars(select(CaseUpdate.note))),
                "marks": list(await session.scalars(
                    select(Attendance.mark).where(Attendance.kpm_id == family.kpm_id)
                    .order_by(Attendance.meeting_id)
                )),
                "rsvp": await session.scalar(select(Rsvp).where(Rsvp.kpm_id == family.kpm_id)),
            }

    found = run(db_url, rows)
    kpm = found["kpm"]
    assert (kpm.nama_pengurus, kpm.nik, kpm.phone, kpm.preferred_channel) == (
        pseudonym(family.kpm_id), ERASED_NIK, None, Channel.NONE
    )
    assert kpm.status is KpmStatus.AKTIF and kpm.opted_out_at is not None
    assert kpm.erasure_reason == "permintaan KPM" and kpm.erased_at is not None
    (entry,) = found["audit"]
    assert (entry.actor, entry.entity, entry.entity_id) == ("cli", "kpm", family.kpm_id)
    assert set(entry.detail) == {
        "addresses", "messages", "cases", "photos", "withdrawn", "scrubbed"
    }
    assert [(d["before"], d["after"]) for d in found["phone_changes"]] == [
        ({"phone": ""}, {"phone": ""})  # the masked numbers of her phone changes
    ] * 2
    # What waited for her is withdrawn; what was sent keeps its status, not its text.
    assert (found["waiting"].status, found["waiting"].error) == (OutboxStatus.CANCELLED, WITHDRAWN)
    assert found["to_her"] and all(row.payload == {} for row in found["to_her"])
    assert found["notice"].status is OutboxStatus.CANCELLED
    assert (found["pesan"].text, found["pesan"].status) == ("", KpmMessageStatus.DONE)
    assert found["identities"] == [] and found["inbox"] == 0
    assert f"whatsapp:{family.phone}" not in found["conversations"]
    assert (found["media"], found["evidence"]) == (0, None)
    assert found["case"].description == "" and found["case"].category == "kks_bermasalah"
    assert set(found["updates"]) == {None}
    assert found["marks"] == ["hadir", "alpa", "alpa"]  # the figures' own values
    assert (found["rsvp"].answer, found["rsvp"].reason) == ("tidak", None)


def test_an_erasure_not_confirmed_erases_nothing(db_url: str, family: Family) -> None:
    result = invoke(db_url, "kpm", "erase", family.id_pkh, "--reason", "permintaan KPM",
                    answer="tidak\n")
    assert result.exit_code == 1
    assert t("cli.kpm_erase.cancelled") in result.output

    async def kept(sessions):  # noqa: ANN001, ANN202
        async with sessions() as session:
            return await session.get(Kpm, family.kpm_id)

    kpm = run(db_url, kept)
    assert (kpm.nama_pengurus, kpm.erased_at) == (NAME, None)
    no_reason = invoke(db_url, "kpm", "erase", family.id_pkh, "--reason", " ", "--yes")
    assert no_reason.exit_code == 1
    assert t("cli.kpm_erase.no_reason") in flat(no_reason.output)


async def test_a_media_store_s_hook_hears_of_the_family_s_photos_before_they_go(
    sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    family = await build_family_world(sessions)
    heard: list[MediaErasure] = []

    async def store_erase(session, erasure: MediaErasure) -> None:  # noqa: ANN001
        rows = await session.scalar(select(func.count()).select_from(MediaAttachment))
        heard.append(erasure)
        assert rows == 1  # called before the rows are deleted, in the same transaction

    monkeypatch.setattr(media_erasure, "MEDIA_ERASERS", [store_erase])
    async with sessions.begin() as session:
        kpm = await session.get(Kpm, family.kpm_id)
        listed = await family_media(session, family.kpm_id)
        await erase(session, kpm, "permintaan KPM", by=None, now=NOW)
    (erasure,) = heard
    assert erasure.kpm_id == family.kpm_id
    assert erasure.attachments == listed and listed[0].case_id == family.case_id
    assert erasure.refs == (PHOTO, "https://example.invalid/m/rekap.jpg")
