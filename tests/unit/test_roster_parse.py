"""Reading and checking roster rows: headers, cells, komponen and every kind of bad row."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.config import load_settings
from models.enums import KpmStatus
from models.roster.files import (
    ColumnMap,
    RosterFileError,
    cell_text,
    count_rows,
    detect_delimiter,
    map_columns,
    open_roster,
)
from models.roster.parse import (
    KomponenItem,
    RosterRow,
    RowValidator,
    fix_phone_text,
    parse_date,
    parse_komponen,
)
from models.roster.reasons import reason
from models.roster.status import StatusReader, parse_status
from models.rules.komponen import KomponenCatalog

HEADERS = [
    "ID PKH", "Nama KPM", "NIK", "No HP", "Nama Kelompok", "Desa", "Kecamatan", "Kabupaten",
    "Provinsi", "Nama Pendamping", "Komponen",
]
GOOD = [
    "P-001", "Siti  Aminah ", "3302011501800001", "0812-3456-7801", "Mawar", "Karangsari",
    "Sumbang", "Kab. Banyumas", "Jateng", "Budi Santoso", "SD:2015-07-01",
]


@pytest.fixture(scope="module")
def catalog() -> KomponenCatalog:
    komponen = load_settings(environ={}).settings.programme.komponen
    return KomponenCatalog.from_mapping({key: rule.model_dump() for key, rule in komponen.items()})


@pytest.fixture
def validator(catalog: KomponenCatalog) -> RowValidator:
    return RowValidator(map_columns(HEADERS, "roster.csv"), catalog)


def row(**changes: str) -> list[str]:
    """The good row with some cells changed, by field name."""
    fields = ["id_pkh", "nama", "nik", "hp", "kelompok", "desa", "kecamatan", "kabupaten",
              "provinsi", "pendamping", "komponen"]
    cells = list(GOOD)
    for name, value in changes.items():
        cells[fields.index(name)] = value
    return cells


# -- headers ------------------------------------------------------------------------------------


def test_headers_match_whatever_their_case_spacing_dashes_and_underscores() -> None:
    columns = map_columns(
        ["id_pkh", "NAMA-PENGURUS", " Nik ", "nomor hp", "KELOMPOK", "desa/kelurahan",
         "Kecamatan", "KABUPATEN/KOTA", "provinsi", "nama_pendamping", "Komponen", "Catatan"],
        "roster.csv",
    )
    assert columns.index == {
        "id_pkh": 0, "nama_pengurus": 1, "nik": 2, "no_hp": 3, "kelompok": 4, "desa": 5,
        "kecamatan": 6, "kabupaten": 7, "provinsi": 8, "pendamping": 9, "komponen": 10,
    }
    assert columns.has_komponen


@pytest.mark.parametrize(
    ("header", "field"),
    [("ID PKH", "id_pkh"), ("IDPKH", "id_pkh"), ("No. PKH", "id_pkh"), ("Nama", "nama_pengurus"),
     ("Nama Ibu", "nama_pengurus"), ("Pengurus", "nama_pengurus"), ("No NIK", "nik"),
     ("NIK Pengurus", "nik"), ("HP", "no_hp"), ("Telepon", "no_hp"), ("No. Telp", "no_hp"),
     ("WhatsApp", "no_hp"), ("WA", "no_hp"), ("Kelurahan", "desa"), ("Kota", "kabupaten"),
     ("Kab", "kabupaten"), ("Status KPM", "status"), ("Status Kepesertaan", "status"),
     ("Keterangan Status", "status"), ("Tgl. Graduasi", "tanggal_graduasi"),
     ("TMT Graduasi", "tanggal_graduasi"), ("tanggal_graduasi", "tanggal_graduasi")],
)
def test_each_common_alias_names_its_field(header: str, field: str) -> None:
    headers = [header if name == field else name for name in (
        "id_pkh", "nama_pengurus", "nik", "kelompok", "desa", "kecamatan", "kabupaten",
        "provinsi", "pendamping",
    )]
    if field in ("no_hp", "status", "tanggal_graduasi"):
        headers.append(header)
    assert map_columns(headers, "roster.csv").index[field] == headers.index(header)


def test_a_missing_required_column_names_it_and_lists_the_headers_found() -> None:
    with pytest.raises(RosterFileError) as raised:
        map_columns(["ID PKH", "Nama", "NIK", "Kelompok", "Desa", "Kecamatan", "Provinsi",
                     "HP"], "kec_sumbang.csv")
    assert raised.value.reason == reason(
        "roster.file_missing_columns", source="kec_sumbang.csv", columns="kabupaten, pendamping",
        found='"ID PKH", "Nama", "NIK", "Kelompok", "Desa", "Kecamatan", "Provinsi", "HP"',
    )


def test_two_columns_meaning_the_same_field_are_a_file_error() -> None:
    with pytest.raises(RosterFileError) as raised:
        map_columns(["Nama", "Nama KPM", *HEADERS[2:]], "roster.csv")
    assert raised.value.reason == reason(
        "roster.file_same_field", source="roster.csv", first="Nama", second="Nama KPM",
        field="nama_pengurus",
    )


def test_komponen_and_phone_columns_are_optional() -> None:
    columns = map_columns([h for h in HEADERS if h not in ("No HP", "Komponen")], "roster.csv")
    assert "no_hp" not in columns.index
    assert not columns.has_komponen
    assert not columns.has_status


# -- cells and small parsers --------------------------------------------------------------------


def test_numbers_from_a_workbook_read_as_the_digits_typed() -> None:
    assert cell_text(3301234567890001) == "3301234567890001"
    assert cell_text(81234567890.0) == "81234567890"
    assert cell_text(1.5) == "1.5"
    assert cell_text(None) == ""
    assert cell_text(datetime(2015, 7, 1)) == "2015-07-01"
    assert cell_text(date(2015, 7, 1)) == "2015-07-01"


def test_a_phone_that_lost_its_leading_zero_gets_it_back() -> None:
    assert fix_phone_text("812345678") == "0812345678"
    assert fix_phone_text("812-3456-7890") == "0812345678" + "90"
    assert fix_phone_text("81234567890123") == "81234567890123"  # 14 digits: left alone
    assert fix_phone_text("6281234567890") == "6281234567890"
    assert fix_phone_text("0812345678") == "0812345678"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("2015-07-01", date(2015, 7, 1)), ("2015-7-1", date(2015, 7, 1)),
     ("01-07-2015", date(2015, 7, 1)), ("1/7/2015", date(2015, 7, 1)),
     (" 31/12/2020 ", date(2020, 12, 31)), ("31-02-2020", None), ("2015/07/01", None),
     ("01-07/2015", None), ("kemarin", None), ("", None)],
)
def test_dates_are_read_year_first_or_day_first(written: str, expected: date | None) -> None:
    assert parse_date(written) == expected


def test_the_delimiter_is_the_most_frequent_one_in_the_header_line() -> None:
    assert detect_delimiter("ID PKH;Nama;NIK, KTP;Desa") == ";"
    assert detect_delimiter("ID PKH,Nama,NIK") == ","
    assert detect_delimiter("ID PKH\tNama\tNIK") == "\t"
    assert detect_delimiter("ID PKH") == ","


# -- komponen -----------------------------------------------------------------------------------


def test_komponen_items_are_separated_by_semicolons_commas_bars_or_newlines(
    catalog: KomponenCatalog,
) -> None:
    items, problems = parse_komponen(
        "SD:2015-07-01; balita=03/02/2021 , Anak SMP | lansia\nbumil:10-03-2025", catalog
    )
    assert problems == []
    assert items == (
        KomponenItem("anak_sd", date(2015, 7, 1), date(2028, 7, 1)),
        KomponenItem("anak_usia_dini", date(2021, 2, 3), date(2028, 2, 3)),
        KomponenItem("anak_smp", None, None),
        KomponenItem("lansia", None, None),
        KomponenItem("ibu_hamil", date(2025, 3, 10), date(2025, 4, 21)),
    )


def test_an_empty_komponen_cell_has_no_komponen(catalog: KomponenCatalog) -> None:
    assert parse_komponen("", catalog) == ((), [])
    assert parse_komponen(" ; ", catalog) == ((), [])


def test_an_unknown_komponen_is_named(catalog: KomponenCatalog) -> None:
    items, problems = parse_komponen("SD; kuliah:2001-01-01", catalog)
    assert [item.type for item in items] == ["anak_sd"]
    assert problems == [
        reason("roster.komponen_unknown", column="komponen", value="kuliah:2001-01-01")
    ]


def test_a_komponen_with_a_bad_date_is_named_with_the_formats_expected(
    catalog: KomponenCatalog,
) -> None:
    _, problems = parse_komponen("SD:2015-13-01", catalog)
    assert problems == [reason(
        "roster.komponen_bad_date", column="komponen", value="SD:2015-13-01", date="2015-13-01"
    )]


def test_more_of_a_komponen_than_a_family_may_have_is_a_problem(catalog: KomponenCatalog) -> None:
    _, problems = parse_komponen("lansia; Lanjut Usia:1950-01-01; SD; SD", catalog)
    assert problems == [reason(
        "roster.komponen_over_limit", column="komponen", komponen="lansia", count=2, limit=1
    )]


# -- rows ---------------------------------------------------------------------------------------


def test_a_good_row_is_tidied_and_its_phone_normalised(validator: RowValidator) -> None:
    checked = validator.validate(2, row())
    assert checked == RosterRow(
        row_number=2, id_pkh="P-001", nama_pengurus="Siti Aminah", nik="3302011501800001",
        phone="+6281234567801", kelompok="Mawar", desa="Karangsari", kecamatan="Sumbang",
        kabupaten="Kab. Banyumas", provinsi="Jawa Tengah", pendamping="Budi Santoso",
        komponen=(KomponenItem("anak_sd", date(2015, 7, 1), date(2028, 7, 1)),),
    )


def test_an_empty_phone_is_allowed(validator: RowValidator) -> None:
    checked = validator.validate(2, row(hp=""))
    assert isinstance(checked, RosterRow)
    assert checked.phone is None


def test_a_nik_written_with_spaces_is_accepted(validator: RowValidator) -> None:
    checked = validator.validate(2, row(nik="3302 0115 0180 0001"))
    assert isinstance(checked, RosterRow)
    assert checked.nik == "3302011501800001"


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        ({"nik": ""}, [reason("roster.missing", columns="NIK")]),
        ({"nama": " ", "desa": ""}, [reason("roster.missing", columns="Nama KPM, Desa")]),
        ({"nik": "330201150180001"}, [reason("roster.nik_length", column="NIK", digits=15)]),
        ({"nik": "33020115018000011"}, [reason("roster.nik_length", column="NIK", digits=17)]),
        ({"nik": "3.30201E+15"}, [reason("roster.nik_not_digits", column="NIK")]),
        ({"hp": "0812"}, [reason("roster.phone_impossible", column="No HP")]),
        ({"hp": "nomor tidak ada"}, [reason("roster.phone_not_a_number", column="No HP")]),
        ({"provinsi": "Jawa Tangah"},
         [reason("roster.province_unknown", column="Provinsi", value="Jawa Tangah")]),
        ({"komponen": "SD; kuliah"},
         [reason("roster.komponen_unknown", column="Komponen", value="kuliah")]),
        ({"id_pkh": "P" * 41}, [reason("roster.too_long", column="ID PKH", limit=40)]),
        ({"kelompok": "K" * 121},
         [reason("roster.too_long", column="Nama Kelompok", limit=120)]),
        ({"nik": "123", "provinsi": "Atlantis"},
         [reason("roster.nik_length", column="NIK", digits=3),
          reason("roster.province_unknown", column="Provinsi", value="Atlantis")]),
    ],
)
def test_a_bad_row_is_refused_with_every_reason_naming_the_column_as_written(
    validator: RowValidator, changes: dict[str, str], reasons: list[object]
) -> None:
    assert validator.validate(5, row(**changes)) == reasons


def test_a_reason_never_holds_the_nik_or_the_phone_number(validator: RowValidator) -> None:
    refused = validator.validate(5, row(nik="330201150180001", hp="0812-99"))
    assert isinstance(refused, list) and len(refused) == 2
    for why in refused:
        assert not any(
            "330201150180001" in str(value) or "0812" in str(value)
            for value in why.values.values()
        ), why


def test_a_duplicate_id_pkh_is_refused_naming_the_first_row(validator: RowValidator) -> None:
    assert isinstance(validator.validate(2, row()), RosterRow)
    assert isinstance(validator.validate(3, row(id_pkh="P-002")), RosterRow)
    duplicate = [reason("roster.id_pkh_duplicate", column="ID PKH", value="P-001", first=2)]
    assert validator.validate(9, row(nik="3302011501800009")) == duplicate
    assert validator.validate(12, row()) == duplicate


def test_a_kelompok_given_a_second_pendamping_is_refused(validator: RowValidator) -> None:
    assert isinstance(validator.validate(2, row()), RosterRow)
    same_person = row(id_pkh="P-002", pendamping=" budi  SANTOSO", kabupaten="Banyumas")
    assert isinstance(validator.validate(3, same_person), RosterRow)
    assert validator.validate(4, row(id_pkh="P-003", pendamping="Ani Wijaya")) == [reason(
        "roster.kelompok_other_pendamping", column="Nama Pendamping", kelompok="Mawar",
        owner="Budi Santoso", first=2, value="Ani Wijaya",
    )]
    other_desa = row(id_pkh="P-004", pendamping="Ani Wijaya", desa="Kebanggan")
    assert isinstance(validator.validate(5, other_desa), RosterRow)


def test_a_row_shorter_than_the_header_reads_empty_cells(validator: RowValidator) -> None:
    assert validator.validate(4, GOOD[:3]) == [reason(
        "roster.missing",
        columns="Nama Kelompok, Desa, Kecamatan, Kabupaten, Provinsi, Nama Pendamping",
    )]


def test_without_a_komponen_column_rows_carry_no_komponen_list(catalog: KomponenCatalog) -> None:
    columns = map_columns(HEADERS[:-1], "roster.csv")
    checked = RowValidator(columns, catalog).validate(2, GOOD[:-1])
    assert isinstance(checked, RosterRow)
    assert checked.komponen is None


def test_the_values_of_a_refused_row_keep_the_headers_and_number_duplicates(
    catalog: KomponenCatalog,
) -> None:
    columns = ColumnMap(("ID PKH", "Catatan", "Catatan"), {"id_pkh": 0})
    assert RowValidator(columns, catalog).values(["P-1", "a"]) == {
        "ID PKH": "P-1", "Catatan": "a", "Catatan (3)": "",
    }


# -- status and graduation date -------------------------------------------------------------------

TODAY = date(2025, 7, 1)


@pytest.mark.parametrize(
    ("written", "status"),
    [("aktif", KpmStatus.AKTIF), (" AKTIF ", KpmStatus.AKTIF),
     ("Graduasi Alamiah", KpmStatus.GRADUASI_ALAMIAH), ("alamiah", KpmStatus.GRADUASI_ALAMIAH),
     ("graduasi_alamiah", KpmStatus.GRADUASI_ALAMIAH),
     ("Graduasi  Mandiri", KpmStatus.GRADUASI_MANDIRI),
     ("Graduasi Sejahtera Mandiri", KpmStatus.GRADUASI_MANDIRI),
     ("sejahtera-mandiri", KpmStatus.GRADUASI_MANDIRI), ("MANDIRI", KpmStatus.GRADUASI_MANDIRI),
     ("keluar", KpmStatus.KELUAR), ("Dikeluarkan", KpmStatus.KELUAR),
     ("Non Aktif", KpmStatus.KELUAR), ("non-aktif", KpmStatus.KELUAR),
     ("NONAKTIF", KpmStatus.KELUAR),
     ("lulus", None), ("graduasi", None), ("", None)],
)
def test_statuses_are_matched_whatever_their_case_and_spacing(
    written: str, status: KpmStatus | None
) -> None:
    assert parse_status(written) == status


@pytest.mark.parametrize(
    ("status", "written", "expected"),
    [("Graduasi Alamiah", "2025-03-31", (KpmStatus.GRADUASI_ALAMIAH, date(2025, 3, 31))),
     ("mandiri", "31/03/2025", (KpmStatus.GRADUASI_MANDIRI, date(2025, 3, 31))),
     ("alamiah", "01-07-2025", (KpmStatus.GRADUASI_ALAMIAH, TODAY)),
     ("alamiah", "", (KpmStatus.GRADUASI_ALAMIAH, None)),
     ("keluar", "", (KpmStatus.KELUAR, None))],
)
def test_a_status_and_its_graduation_date_are_read(
    status: str, written: str, expected: tuple[KpmStatus, date | None]
) -> None:
    assert StatusReader(TODAY).read(status, written) == (*expected, [])


@pytest.mark.parametrize(
    ("status", "written", "problems"),
    [("lulus", "", [reason("roster.status_unknown", column="status", value="lulus")]),
     ("alamiah", "2025-13-01",
      [reason("roster.graduation_date_bad", column="tanggal_graduasi", value="2025-13-01",
              iso="2025-07-01", dmy="01/07/2025")]),
     ("alamiah", "2025-07-02",
      [reason("roster.graduation_date_future", column="tanggal_graduasi", value="2025-07-02",
              today="2025-07-01")]),
     ("Keluar", "2025-03-01",
      [reason("roster.graduation_date_wrong_status", column="tanggal_graduasi",
              status_column="status", value="Keluar")]),
     ("", "2025-03-01",
      [reason("roster.graduation_date_no_status", column="tanggal_graduasi",
              status_column="status")])],
)
def test_a_bad_status_or_graduation_date_is_a_problem_naming_the_column(
    status: str, written: str, problems: list[object]
) -> None:
    assert StatusReader(TODAY).read(status, written)[2] == problems


def test_a_row_carries_its_status_and_graduation_date(catalog: KomponenCatalog) -> None:
    columns = map_columns([*HEADERS, "Status", "Tgl Graduasi"], "roster.csv")
    validator = RowValidator(columns, catalog, today=TODAY)

    graduated = validator.validate(2, [*GOOD, "Graduasi Mandiri", cell_text(datetime(2025, 3, 1))])
    plain = validator.validate(3, [*row(id_pkh="P-002"), "", ""])

    assert columns.has_status
    assert isinstance(graduated, RosterRow) and isinstance(plain, RosterRow)
    assert (graduated.status, graduated.graduated_on) == (
        KpmStatus.GRADUASI_MANDIRI, date(2025, 3, 1)
    )
    assert (plain.status, plain.graduated_on) == (None, None)
    assert validator.validate(4, [*row(id_pkh="P-003", nik="1"), "lulus", ""]) == [
        reason("roster.nik_length", column="NIK", digits=1),
        reason("roster.status_unknown", column="Status", value="lulus"),
    ]


# -- files --------------------------------------------------------------------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding, newline="")
    return path


def read_all(path: Path) -> tuple[ColumnMap, str, list[tuple[int, list[str]]]]:
    with open_roster(path) as source:
        return source.columns, source.delimiter, list(source.rows)


def test_a_semicolon_csv_with_a_bom_is_read_with_spreadsheet_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "\ufeff" + ";".join(HEADERS) + "\r\n"
                 + ";".join(GOOD) + "\r\n\r\n" + '"P-2";"Nama; dengan titik koma"\r\n',
                 encoding="utf-8")
    columns, delimiter, rows = read_all(path)
    assert delimiter == ";"
    assert columns.headers[0] == "ID PKH"  # no BOM left on the first header
    assert [number for number, _ in rows] == [2, 3, 4]
    assert rows[0][1] == GOOD
    assert rows[1][1] == []
    assert rows[2][1] == ["P-2", "Nama; dengan titik koma"]


def test_a_comma_csv_with_leading_blank_lines_counts_them_as_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "\n\n" + ",".join(HEADERS) + "\n" + ",".join(GOOD) + "\n")
    _, delimiter, rows = read_all(path)
    assert delimiter == ","
    assert [number for number, _ in rows] == [4]


def test_a_csv_saved_by_excel_in_the_windows_code_page_is_read(tmp_path: Path) -> None:
    text = ",".join(HEADERS) + "\n" + ",".join(row(nama="Siti Nur’aini")) + "\n"
    _, _, rows = read_all(write(tmp_path / "r.csv", text, encoding="cp1252"))
    assert rows[0][1][1] == "Siti Nur’aini"


def test_a_workbook_is_read_from_its_active_sheet_with_numbers_as_typed(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append(["P-1", "Siti", 3302011501800001, 81234567801, "Mawar", "Karangsari",
                  "Sumbang", "Banyumas", "Jawa Tengah", "Budi", "SD:2015-07-01"])
    sheet.append([])
    sheet.append(["P-2", "Sri", None, None])
    workbook.save(tmp_path / "r.xlsx")
    columns, _, rows = read_all(tmp_path / "r.xlsx")
    assert columns.headers == tuple(HEADERS)
    assert rows[0] == (2, ["P-1", "Siti", "3302011501800001", "81234567801", "Mawar",
                           "Karangsari", "Sumbang", "Banyumas", "Jawa Tengah", "Budi",
                           "SD:2015-07-01"])
    assert [number for number, _ in rows] == [2, 3, 4]
    assert rows[2][1][:4] == ["P-2", "Sri", "", ""]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("roster.pdf", b"%PDF-1.4",
         reason("roster.file_unknown_type", file="roster.pdf", suffix=".pdf")),
        ("roster", b"ID PKH,Nama", reason("roster.file_no_suffix", file="roster")),
        ("roster.xls", b"\xd0\xcf\x11\xe0rest", reason("roster.file_xls", file="roster.xls")),
        ("roster.xlsx", b"ID PKH,Nama", reason("roster.file_not_xlsx", file="roster.xlsx")),
        ("roster.csv", b"\n \n", reason("roster.file_empty", file="roster.csv")),
    ],
)
def test_a_file_that_is_not_a_roster_is_a_roster_file_error(
    tmp_path: Path, name: str, content: bytes, why: object
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(RosterFileError) as raised, open_roster(tmp_path / name):
        pass
    assert raised.value.reason == why


def test_a_missing_file_is_a_roster_file_error(tmp_path: Path) -> None:
    with pytest.raises(RosterFileError) as raised, open_roster(tmp_path / "tidak_ada.csv"):
        pass
    assert raised.value.reason == reason("roster.file_not_found", file="tidak_ada.csv")


def test_count_rows_counts_the_data_lines_of_a_csv(tmp_path: Path) -> None:
    assert count_rows(write(tmp_path / "a.csv", "h\n1\n2\n3\n")) == 3
    assert count_rows(write(tmp_path / "b.csv", "h\r\n1\r\n2")) == 2
    assert count_rows(write(tmp_path / "c.csv", "")) == 0
    assert count_rows(tmp_path / "r.xlsx") is None
