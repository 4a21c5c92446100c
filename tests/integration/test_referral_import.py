"""`pendamping rujukan import` and `rujukan list`: the sistem sumber from a CSV file, as an
operator runs it, against real databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from handlers.i18n import Translator
from models.db import create_engine, session_factory
from models.referral_tables import ReferralContact, ReferralService
from models.regions import RegionIndex
from models.tables import AuditLog
from tests.integration.test_cli import invoke, query
from tests.world import build_world

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXAMPLE = FIXTURES / "referrals" / "sistem_sumber_contoh.csv"
t = Translator("id")

HEADER = "wilayah;nama;jenis;kategori;telepon;alamat;catatan\n"
GOOD = (
    HEADER
    + "Kec. Sumber;Puskesmas Sumber;puskesmas;kesehatan, disabilitas;0812-0000-0101;"
    "Jl. Raya Sumber 1;Buka pagi\n"
    + "Kab. Sukamaju;UPTD PPA Sukamaju;UPTD PPA;;0812-0000-0108;Jl. Pemuda 7;\n"
    + 'Kab. Sukamaju;Disdukcapil Sukamaju;Dukcapil;"Adminduk (KTP, KK, akta); pemutakhiran";'
    "(0281) 641234;;\n"
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def _world(db_url: str) -> None:
    async def run() -> None:
        engine = create_engine(db_url)
        try:
            sessions = session_factory(engine)
            await build_world(sessions)
            async with sessions.begin() as session:  # two kecamatan of one name
                index = await RegionIndex(session).load()
                await index.ensure_path(["Jawa Tengah", "Kab. Lain", "Kec. Kembar"])
                await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju", "Kec. Kembar"])
        finally:
            await engine.dispose()

    asyncio.run(run())


def _csv(tmp_path: Path, text: str, name: str = "rujukan.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _contacts(db_url: str) -> dict[str, tuple]:
    rows = query(
        db_url,
        select(
            ReferralContact.name, ReferralContact.kind, ReferralContact.phone,
            ReferralContact.address, ReferralContact.active,
        ),
    )
    return {name: rest for name, *rest in rows}


def _served(db_url: str, name: str) -> set[str]:
    rows = query(
        db_url,
        select(ReferralService.category)
        .join(ReferralContact, ReferralContact.id == ReferralService.contact_id)
        .where(ReferralContact.name == name),
    )
    return {category for (category,) in rows}


def test_good_rows_are_imported_with_their_kind_categories_and_phone(
    db_url: str, tmp_path: Path
) -> None:
    _world(db_url)
    result = invoke(db_url, "rujukan", "import", str(_csv(tmp_path, GOOD)))
    assert result.exit_code == 0, result.output
    assert t(
        "referral_cli.summary", rows=3, imported=3, updated=0, unchanged=0, rejected=0
    ) in result.output
    contacts = _contacts(db_url)
    assert contacts["Puskesmas Sumber"] == [
        "puskesmas", "+6281200000101", "Jl. Raya Sumber 1", True
    ]
    assert contacts["Disdukcapil Sukamaju"][:2] == ["dukcapil", "+62281641234"]
    assert _served(db_url, "Puskesmas Sumber") == {"kesehatan_rujukan", "disabilitas_lansia"}
    # an empty kategori: the kind's own (those configured)
    assert _served(db_url, "UPTD PPA Sukamaju") == {"perlindungan_anak", "kdrt"}
    # a label with commas inside its parentheses is one category
    assert _served(db_url, "Disdukcapil Sukamaju") == {"adminduk", "pemutakhiran_data"}
    audited = query(db_url, select(func.count()).where(AuditLog.action == "referral.add"))
    assert audited == [(3,)]
    listed = invoke(db_url, "rujukan", "list")
    assert listed.exit_code == 0, listed.output
    assert "Puskesmas Sumber" in listed.output and "0812-0000-0101" in listed.output
    assert listed.output.index("Kec. Sumber") < listed.output.index("Kab. Sukamaju")


def test_bad_rows_are_named_with_their_column_and_nothing_is_written(
    db_url: str, tmp_path: Path
) -> None:
    _world(db_url)
    text = (
        HEADER
        + "Kec. Sumber;Puskesmas Sumber;puskesmas;kesehatan;0812-0000-0101;;\n"  # good
        + "Kec. Entah;Puskesmas Entah;puskesmas;kesehatan;;;\n"  # row 3: unknown region
        + "Kec. Sumber;Apotek Sumber;apotek;kesehatan;;;\n"  # row 4: unknown kind
        + "Kec. Sumber;Sekolah Sumber;sekolah;sekolah ramah;;;\n"  # row 5: unknown category
        + "Kec. Sumber;Kantor Desa;lainnya;;;;\n"  # row 6: lainnya needs categories
        + "Kec. Sumber;Bidan Desa;puskesmas;;12;;\n"  # row 7: phone
        + "Kec. Sumber;puskesmas  sumber;puskesmas;;;;\n"  # row 8: same as row 2
        + "Kembar;Bank Kembar;bank;;;;\n"  # row 9: Kec. Kembar in two kabupaten
        + ";Tanpa Wilayah;dinsos;;;;\n"  # row 10: empty region
    )
    result = invoke(db_url, "rujukan", "import", str(_csv(tmp_path, text)))
    assert result.exit_code == 1
    output = " ".join(result.output.split())

    def said(row: int, column: str, key: str, **values: object) -> bool:
        reason = t(key, **{"value": "", **values})
        line = t("referral_cli.row_problem", row=row, column=column, reason=reason)
        return " ".join(line.split()) in output

    assert said(3, "wilayah", "referral_import.region_unknown", value="Kec. Entah")
    assert "baris 4, kolom jenis: jenis \"apotek\" tidak dikenal" in output
    assert "baris 5, kolom kategori: kategori \"sekolah ramah\" tidak dikenal" in output
    assert said(6, "kategori", "referral_import.categories_needed")
    assert said(7, "telepon", "referral_import.phone_invalid")
    assert said(8, "nama", "referral_import.duplicate", value="puskesmas sumber", first=2)
    assert said(9, "wilayah", "referral_import.region_ambiguous", value="Kembar")
    assert said(10, "wilayah", "referral_import.empty")
    assert t(
        "referral_cli.summary", rows=9, imported=1, updated=0, unchanged=0, rejected=8
    ) in " ".join(result.output.split())
    assert t("referral_cli.nothing_written") in output
    assert _contacts(db_url) == {}  # the good row was not written either


def test_a_second_import_updates_what_changed_and_a_dry_run_writes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    _world(db_url)
    assert invoke(db_url, "rujukan", "import", str(_csv(tmp_path, GOOD))).exit_code == 0
    changed = (
        "wilayah;nama;jenis;kategori;telepon;aktif\n"  # no alamat column: addresses stay
        "Kec. Sumber;PUSKESMAS SUMBER;puskesmas;kesehatan;0812-0000-0199;ya\n"
        "Kab. Sukamaju;UPTD PPA Sukamaju;UPTD PPA;;0812-0000-0108;tidak\n"
        "Kab. Sukamaju;Disdukcapil Sukamaju;Dukcapil;adminduk, pemutakhiran data;"
        "(0281) 641234;\n"
        "Kab. Sukamaju/Kec. Sumber;Agen BRILink Sumber;agen;;0812-0000-0105;\n"
    )
    path = _csv(tmp_path, changed, "ubah.csv")
    dry = invoke(db_url, "rujukan", "import", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    summary = t("referral_cli.summary", rows=4, imported=1, updated=2, unchanged=1, rejected=0)
    assert summary in dry.output and t("referral_cli.dry_run") in dry.output
    assert len(_contacts(db_url)) == 3
    assert _contacts(db_url)["Puskesmas Sumber"][1] == "+6281200000101"
    done = invoke(db_url, "rujukan", "import", str(path))
    assert done.exit_code == 0, done.output
    assert summary in done.output
    contacts = _contacts(db_url)
    assert contacts["PUSKESMAS SUMBER"] == ["puskesmas", "+6281200000199", "Jl. Raya Sumber 1",
                                            True]
    assert contacts["UPTD PPA Sukamaju"][3] is False  # aktif: tidak
    assert contacts["Agen BRILink Sumber"][0] == "agen_kks"
    assert _served(db_url, "PUSKESMAS SUMBER") == {"kesehatan_rujukan"}
    again = invoke(db_url, "rujukan", "import", str(path))
    assert t(
        "referral_cli.summary", rows=4, imported=0, updated=0, unchanged=4, rejected=0
    ) in again.output


def test_a_file_without_the_required_columns_is_refused_naming_them(
    db_url: str, tmp_path: Path
) -> None:
    _world(db_url)
    result = invoke(
        db_url, "rujukan", "import", str(_csv(tmp_path, "nama,alamat\nPuskesmas,Jl. X\n"))
    )
    assert result.exit_code == 1
    assert "tidak ada kolom wilayah, jenis" in result.output
    missing = invoke(db_url, "rujukan", "import", str(tmp_path / "tidak_ada.csv"))
    assert missing.exit_code == 1 and "tidak_ada.csv: tidak bisa dibaca" in missing.output


def test_the_example_file_imports_into_the_demo_and_list_filters_by_region(
    db_url: str,
) -> None:
    assert invoke(db_url, "init", "--demo").exit_code == 0
    result = invoke(db_url, "rujukan", "import", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert t(
        "referral_cli.summary", rows=9, imported=9, updated=0, unchanged=0, rejected=0
    ) in result.output
    mekarsari = invoke(db_url, "rujukan", "list", "--wilayah", "Kec. Mekarsari")
    assert mekarsari.exit_code == 0, mekarsari.output
    assert "Puskesmas Mekarsari" in mekarsari.output
    assert "UPTD PPA Kabupaten Sukamaju" in mekarsari.output  # its kabupaten's
    assert "Puskesmas Sukamaju" not in mekarsari.output  # another kecamatan's
    unknown = invoke(db_url, "rujukan", "list", "--wilayah", "Kec. Entah")
    assert unknown.exit_code == 1 and "--wilayah" in unknown.output
