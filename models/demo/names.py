"""The fixed, fictional content of the demo: places, staff, names and case texts.

Every region below the province is invented: code 99 is not a kabupaten of Jawa Tengah.
Names are common Indonesian (Javanese, Sundanese and general) women's names; some first
names repeat on purpose so that name matching meets near-misses ("Siti Aminah" and
"Siti Aisyah" in one kelompok).
"""

from __future__ import annotations

from typing import NamedTuple

PROVINCE_NAME = "Jawa Tengah"
KABUPATEN_NAME = "Sukamaju"
KABUPATEN_CODE = "33.99"
ID_PKH_PREFIX = "PKH-DEMO-"
PHONE_PREFIX = "+6281299"  # plus six digits: +62 812-99xx-xxxx


class DemoDesa(NamedTuple):
    code: str
    name: str


class DemoKecamatan(NamedTuple):
    code: str
    name: str
    desa: tuple[DemoDesa, ...]


KECAMATAN = (
    DemoKecamatan("33.99.01", "Sukamaju", (
        DemoDesa("33.99.01.2001", "Sukamaju"),
        DemoDesa("33.99.01.2002", "Sidomulyo"),
        DemoDesa("33.99.01.2003", "Karangrejo"),
        DemoDesa("33.99.01.2004", "Tegalwangi"),
    )),
    DemoKecamatan("33.99.02", "Mekarsari", (
        DemoDesa("33.99.02.2001", "Mekarsari"),
        DemoDesa("33.99.02.2002", "Wonosari"),
    )),
)

COORDINATOR = "Dewi Lestari"
SUPERVISOR = "Agus Prasetyo"
OPERATOR = "Operator Dinas"
"""The dinas operator (admin, no region): roster uploads, the outbox, invites."""


class DemoPendamping(NamedTuple):
    name: str
    kecamatan_code: str
    desa_codes: tuple[str, str]


PENDAMPING = (
    DemoPendamping("Ani Suryani", "33.99.01", ("33.99.01.2001", "33.99.01.2002")),
    DemoPendamping("Budi Santoso", "33.99.01", ("33.99.01.2003", "33.99.01.2004")),
    DemoPendamping("Citra Wulandari", "33.99.02", ("33.99.02.2001", "33.99.02.2002")),
)
FORMER_PENDAMPING = ("Rudi Hartono", "33.99.02")
"""A pendamping who left (name, kecamatan code): inactive, his kelompok long handed over."""
LEFT_KPM = ("pindah", "mengundurkan_diri")
"""Why the demo's two KPM who left the programme this week left (ExitReason values)."""
KELOMPOK_PER_PENDAMPING = 4
KPM_TOTAL = 300
KPM_PER_KELOMPOK = (18, 30)

KELOMPOK_NAMES = (
    "Kelompok Melati", "Kelompok Mawar", "Kelompok Anggrek", "Kelompok Kenanga",
    "Kelompok Dahlia", "Kelompok Cempaka", "Kelompok Flamboyan", "Kelompok Teratai",
    "Kelompok Kamboja", "Kelompok Seruni", "Kelompok Bougenville", "Kelompok Sedap Malam",
)
MEETING_PLACES = (
    "Balai Desa {desa}", "Posyandu {desa}", "Musala Al-Ikhlas", "Rumah Ibu {ketua}",
)
MEETING_TIMES = ("08:30", "09:00", "09:00", "09:30", "10:00", "13:00", "14:00")

FIRST_NAMES = (
    "Siti", "Sri", "Ani", "Dewi", "Nur", "Yuli", "Wati", "Rina", "Eka", "Dwi", "Tri",
    "Endang", "Yati", "Tuti", "Lilis", "Euis", "Neneng", "Imas", "Cucu", "Titin", "Iis",
    "Ratna", "Rini", "Ida", "Ika", "Fitri", "Nining", "Murni", "Umi", "Eni", "Heni", "Yayuk",
    "Anik", "Lina", "Rohmah", "Tutik", "Atik", "Sumi", "Nani", "Yeni",
)
SHARED_FIRST_NAMES = ("Siti", "Sri", "Nur", "Dewi")
NUR_FIRST_NAMES = ("Siti", "Dewi", "Umi")  # "Siti Nur Aisyah"
SECOND_NAMES = (
    "Aminah", "Aisyah", "Rahayu", "Handayani", "Lestari", "Kurniasih", "Wahyuni", "Suryani",
    "Purwanti", "Susanti", "Rahmawati", "Setyowati", "Ningsih", "Wulandari", "Marlina",
    "Fatimah", "Khotijah", "Maryam", "Sulastri", "Sumiati", "Sunarti", "Sutarmi", "Yuliani",
    "Mulyani", "Hartini", "Indrawati", "Puspitasari", "Kusumawati", "Hidayah", "Nurhayati",
    "Asih", "Utami", "Safitri", "Astuti", "Rohani", "Komariah", "Nurjanah", "Patimah",
    "Rukmini", "Sukaesih", "Haryati", "Wahyuningsih",
)
SINGLE_NAMES = (
    "Sumarni", "Suparmi", "Painem", "Tukinem", "Sainah", "Karsinah", "Warsini", "Darmi",
    "Tumini", "Sukini", "Paijem", "Sarinah", "Parmi", "Juminten", "Ngatini", "Wagiyem",
    "Kasmini", "Suwarni", "Jumiati", "Rusmini", "Supiyah", "Katinem", "Sutinah", "Marsini",
)
MARK_NOTES = {
    "izin": ("Bekerja di sawah", "Acara keluarga", "Mengantar anak ke sekolah", None, None),
    "sakit": ("Demam", "Sakit gigi", None, None),
}


class DemoCase(NamedTuple):
    category: str
    description: str
    mendesak: bool
    follow_up_days: int  # relative to today; negative means overdue
    in_follow_up: bool  # status tindak_lanjut (else baru)
    age_days: int  # how long ago it was opened
    update_note: str | None = None
    komponen: str | None = None  # the case is about a member of this komponen type


CASES = (
    DemoCase("kks_bermasalah", "Kartu KKS terblokir setelah salah PIN tiga kali.",
             False, -3, False, 12),
    DemoCase("bansos_belum_cair",
             "Bantuan tahap terakhir belum cair; NIK di KKS berbeda dengan NIK di KTP.",
             False, 5, True, 20, "Data sudah dikirim ke Dinsos untuk dicocokkan."),
    DemoCase("pemutakhiran_data",
             "Anak kedua pindah dari SD ke MI; data sekolah perlu diperbarui.",
             False, 10, False, 4, komponen="anak_sd"),
    DemoCase("kesehatan_rujukan",
             "Balita berat badannya di bawah garis merah KMS; perlu rujukan ke Puskesmas.",
             True, -1, True, 9, "Sudah dihubungi bidan desa, menunggu jadwal Puskesmas.",
             komponen="anak_usia_dini"),
    DemoCase("pendidikan",
             "Anak SMP tidak masuk sekolah dua minggu; kehadiran di bawah 85%.",
             False, 7, False, 6, komponen="anak_smp"),
    DemoCase("perlindungan_anak",
             "Tetangga melaporkan dugaan kekerasan terhadap anak usia 9 tahun.",
             True, -2, True, 5, "Kunjungan rumah dilakukan; dilaporkan ke supervisor.",
             komponen="anak_sd"),
    DemoCase("lainnya",
             "Rumah rusak setelah hujan deras; keluarga menanyakan bantuan rehab rumah.",
             False, 14, False, 2),
)

# Komponen mixes of an active family and the age range, in days, of a member of each type.
KOMPONEN_MIXES = (
    (("anak_sd",), 14), (("anak_usia_dini",), 10), (("anak_sd", "anak_usia_dini"), 14),
    (("anak_smp", "anak_sd"), 12), (("anak_sma", "anak_smp"), 8), (("anak_sma",), 6),
    (("anak_smp",), 6), (("anak_sd", "anak_smp", "anak_usia_dini"), 8),
    (("ibu_hamil", "anak_sd"), 4), (("ibu_hamil", "anak_usia_dini"), 3),
    (("lansia", "anak_sd"), 5), (("lansia",), 4), (("disabilitas_berat", "anak_smp"), 3),
    (("disabilitas_berat",), 2), (("anak_sma", "anak_sd", "lansia"), 3),
)
AGE_DAYS = {
    "anak_usia_dini": (60, 7 * 365 - 30),
    "anak_sd": (7 * 365 + 10, 13 * 365 - 30),
    "anak_smp": (13 * 365 + 10, 16 * 365 - 30),
    "anak_sma": (16 * 365 + 10, 19 * 365 - 30),
    "lansia": (70 * 365 + 10, 86 * 365),
    "disabilitas_berat": (8 * 365, 60 * 365),
}
PREGNANCY_DUE_DAYS = (20, 200)  # ibu_hamil: the expected delivery date, days from today
NEAR_TWINS = ("Sri Wahyuni", "Sri Wahyuningsih")  # in the group that meets today
