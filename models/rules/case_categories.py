"""Case categories as programme data: what each is called, the words that suggest it, how
urgent it is by default, and whether it always goes to the coordinator.

The defaults are what pendamping meet (``../shared/DOMAIN.md``, "Cases"); the settings file
(``[programme.case_categories.KEY]``) replaces them. A category's label comes from the
configuration when one is given there, else from the message catalog
(``case.category.KEY``), else it is the key itself (a stored category no longer
configured). Keys are stored in ``case_note.category`` (40 characters) and never mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from models.rules.case_suggest import Matcher

Severity = Literal["biasa", "mendesak"]
FALLBACK = "lainnya"
"""The category of a note in which no keyword is found (the last one configured if none
is called this)."""
EXIT_CATEGORY = "usulan_keluar"
"""A case of this category (a family to leave the programme) leads, once saved, to
recording the family's exit (/keluar_pkh)."""


@dataclass(frozen=True)
class CaseCategory:
    key: str
    keywords: tuple[str, ...] = ()
    severity: Severity = "biasa"
    """The severity proposed for a case of this category."""
    always_urgent: bool = False
    """Saved as mendesak whatever is chosen (the pendamping is told)."""
    escalate: bool = False
    """Sent to the coordinators and the supervisor even when saved as biasa."""
    label: str | None = None
    """The name shown; None: the catalog's ``case.category.KEY``."""


_VIOLENCE = ("pukul", "tampar", "tendang", "aniaya", "siksa", "hajar", "cekik", "tonjok",
             "jotos", "gampar", "jambak", "gebuk", "hantam", "injak", "cambuk", "sabet",
             "memar", "lebam", "babak belur", "kekerasan")

DEFAULT_CASE_CATEGORIES: tuple[CaseCategory, ...] = (
    CaseCategory(
        "kks_bermasalah",
        ("kks", "kartu kks", "atm", "pin", "blokir", "tertelan", "kartu hilang", "kartu rusak",
         "kartu patah", "ganti kartu", "kartu baru", "edc", "chip", "terbaca", "kadaluarsa",
         "buku tabungan", "tarik saldo"),
    ),
    CaseCategory(
        "bansos_belum_cair",
        ("cair", "belum cair", "tidak cair", "pencairan", "saldo kosong", "belum masuk",
         "tidak masuk", "belum turun", "belum dapat", "belum terima", "belum diterima",
         "tidak menerima", "tahap", "sp2d", "gagal salur", "tersalur", "transfer",
         "rekening pasif", "bpnt", "sembako", "dana pkh", "tidak dibayar", "belum dibayar"),
    ),
    CaseCategory(
        "pemutakhiran_data",
        ("pemutakhiran", "mutakhir", "update data", "perbarui data", "diperbarui",
         "perbaikan data", "ubah data", "data salah", "data anak", "data sekolah",
         "tambah komponen", "komponen", "melahirkan", "lahir", "ganti pengurus",
         "data anggota", "data keluarga", "jumlah anggota", "suami meninggal",
         "istri meninggal", "anak meninggal", "pindah sekolah", "pindah rumah", "alamat",
         "verifikasi ulang", "e pkh", "update", "tercatat"),
    ),
    CaseCategory(
        "adminduk",
        ("adminduk", "ktp", "e ktp", "kk", "kartu keluarga", "akta", "akta kelahiran",
         "kartu identitas anak", "dukcapil", "capil", "disdukcapil", "nik", "padan",
         "perekaman", "rekam", "cetak ulang", "buku nikah", "surat nikah", "pecah kk",
         "surat pengantar", "domisili", "salah tulis", "masuk kk", "akta lahir"),
    ),
    CaseCategory(
        "kesehatan_rujukan",
        ("sakit", "puskesmas", "rumah sakit", "rs", "rsud", "posyandu", "bidan", "dokter",
         "berobat", "rujuk", "rujukan", "kis", "bpjs", "pbi", "jkn", "imunisasi", "periksa",
         "demam", "gizi", "gizi buruk", "stunting", "berat badan", "kontrol", "dirawat",
         "sesak", "faskes", "nifas", "ibu hamil", "kecelakaan", "patah", "obat", "sembuh",
         "pendarahan", "gatal", "kulit", "paru", "gula darah"),
    ),
    CaseCategory(
        "pendidikan",
        ("sekolah", "putus sekolah", "tidak sekolah", "berhenti sekolah", "bolos", "kip",
         "pip", "guru", "ijazah", "seragam", "naik kelas", "paket c", "kehadiran",
         "daftar sekolah", "didaftarkan", "melanjutkan", "biaya sekolah", "uang komite",
         "mau sekolah", "masuk sekolah", "pip cair", "kip cair"),
    ),
    CaseCategory(
        "perlindungan_anak",
        ("perlindungan anak", "anak pukul", "anak tampar", "kekerasan anak",
         "ditelantarkan", "anak telantar", "dinikahkan", "dikawinkan", "nikah dini",
         "pernikahan dini", "perkawinan anak", "nikah siri", "di bawah umur", "dipekerjakan",
         "pekerja anak", "eksploitasi", "mengemis", "ngamen", "pelecehan", "dicabuli",
         "cabul", "perkosa", "kabur", "ditinggal sendirian", "tinggal sendirian", "dikurung",
         "terkunci", "ayah tiri", "ibu tiri", "perundungan", "bully", "korban",
         "tidak diberi makan", "kelaparan", "dibiarkan", "diabaikan", "dicubit", *_VIOLENCE),
        severity="mendesak",
        always_urgent=True,
    ),
    CaseCategory(
        "kdrt",
        ("kdrt", "kekerasan dalam rumah tangga", "rumah tangga", "suami pukul",
         "istri pukul", "suami tampar", "suami tendang", "suami aniaya", "istri aniaya",
         "suami siksa", "suami hajar", "suami cekik", "suami kasar", "suami mabuk",
         "suami ancam", "ancam istri", "ancam bunuh", "diusir", "usir suami", "suami kunci",
         "dikunci", "bentak", "banting", "dirampas", "dilempar", "menantu", "uptd ppa",
         "p2tp2a", *_VIOLENCE),
        severity="mendesak",
        always_urgent=True,
    ),
    CaseCategory(
        "pungli",
        ("pungli", "pungutan liar", "pungutan", "potong", "potongan bantuan", "setor",
         "minta uang", "dimintai uang", "imbalan", "fee", "uang terima kasih", "uang rokok",
         "biaya admin", "uang kas", "iuran", "menahan kartu", "ditahan", "tanpa sepengetahuan",
         "dipaksa beli", "oknum", "sisanya diambil", "minta tambahan", "jatah", "pelicin",
         "tiap pencairan", "ambil saldo", "ditarik agen"),
        escalate=True,
    ),
    CaseCategory(
        "disabilitas_lansia",
        ("disabilitas", "difabel", "lansia", "lanjut usia", "nenek", "kakek", "mbah", "jompo",
         "lansia telantar", "tinggal sendiri", "hidup sendiri", "tidak ada yang merawat",
         "tidak terurus", "mengurus", "kursi roda", "alat bantu", "lumpuh", "odgj",
         "gangguan jiwa", "pasung", "tongkat", "lansia tunggal", "tunanetra", "tunarungu",
         "tunawicara", "tunadaksa", "tuna daksa", "cerebral palsy", "pikun", "atensi",
         "permakanan", "buta", "tuli", "terapi"),
    ),
    CaseCategory(
        "usulan_keluar",
        ("usulan keluar", "usul keluar", "diusulkan keluar", "keluar dari pkh", "dikeluarkan",
         "mengundurkan diri", "meninggal", "meninggal dunia", "wafat", "almarhum",
         "pengurus meninggal", "kpm meninggal", "pengurus wafat", "pindah ke luar",
         "luar kabupaten", "luar provinsi", "kabupaten lain", "sudah pindah", "sudah mampu",
         "tidak layak", "tidak memenuhi syarat", "memenuhi syarat", "pns", "graduasi",
         "tidak ditemukan", "kepesertaan", "tidak ada komponen", "keluar"),
    ),
    CaseCategory(FALLBACK),
)
"""The categories offered when the settings name none, in the order offered."""

DEFAULT_RISK_KEYWORDS: tuple[str, ...] = (
    *_VIOLENCE, "ancam", "bunuh", "cabul", "perkosa", "pelecehan", "eksploitasi",
    "dipekerjakan", "mengemis", "dijual", "dinikahkan", "dikawinkan", "nikah dini",
    "nikah siri", "di bawah umur", "anak telantar", "ditelantarkan", "ditinggal sendirian",
    "dikurung", "diusir", "anak kabur", "kelaparan", "tidak diberi makan", "gizi buruk",
    "pasung", "pendarahan", "bunuh diri",
)
"""Signs of violence, exploitation or a child at risk: a note with one is proposed as
mendesak, whatever its category."""


def category_label(
    translate: Callable[..., str], key: str, configured: Mapping[str, str] | None = None
) -> str:
    """What a category is called: the configured label, the catalog's, or the key (a
    stored category that is no longer configured and has no text)."""
    if configured and configured.get(key):
        return configured[key]
    try:
        return translate(f"case.category.{key}")
    except KeyError:
        return key


@dataclass(frozen=True)
class Suggestion:
    category: str
    severity: Severity
    score: float
    """Points of the keywords found (a phrase of two words: 2); 0: nothing matched."""
    risk: bool
    """A risk keyword matched: the severity is mendesak for that reason."""


@dataclass(frozen=True)
class CaseRules:
    """The configured categories and risk keywords, and what a note suggests of them."""

    categories: tuple[CaseCategory, ...] = DEFAULT_CASE_CATEGORIES
    risk_keywords: tuple[str, ...] = DEFAULT_RISK_KEYWORDS
    by_key: dict[str, CaseCategory] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {c.key: c for c in self.categories})

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.categories)

    @property
    def always_urgent(self) -> frozenset[str]:
        return frozenset(c.key for c in self.categories if c.always_urgent)

    @property
    def fallback(self) -> str:
        return FALLBACK if FALLBACK in self.by_key else self.categories[-1].key

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(
            [(c.key, c.keywords) for c in self.categories],
            self.risk_keywords,
            fallback=self.fallback,
            urgent=self.always_urgent,
            escalated=(c.key for c in self.categories if c.escalate),
        )

    def suggest(self, note: str) -> Suggestion:
        """The category ``note`` suggests and the severity to propose."""
        found = self.matcher.match(note)
        category = self.by_key.get(found.category)
        urgent = found.risk or (
            category is not None and (category.always_urgent or category.severity == "mendesak")
        )
        return Suggestion(
            found.category, "mendesak" if urgent else "biasa", found.score, found.risk
        )

    def label(self, translate: Callable[..., str], key: str) -> str:
        """What a category is called: the configured label, the catalog's, or the key."""
        category = self.by_key.get(key)
        if category is not None and category.label:
            return category.label
        return category_label(translate, key)

    def labels(self) -> dict[str, str]:
        """The labels given in the configuration, by key."""
        return {c.key: c.label for c in self.categories if c.label}

    @classmethod
    def of(
        cls, categories: Iterable[CaseCategory], risk_keywords: Iterable[str]
    ) -> CaseRules:
        return cls(tuple(categories), tuple(risk_keywords))
