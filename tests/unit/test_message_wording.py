"""Every message of the catalog, rendered per channel with sample values, reads right and
can go out: no doubled word, no "Anda" to a KPM, no "ketuk"/"tekan" where nothing can be
tapped, no placeholder left, within each channel's limit."""

from __future__ import annotations

from handlers.i18n import Translator
from handlers.message_review import (
    Rendered,
    channels_of,
    problems,
    problems_of,
    render_all,
    review_page,
)
from models.messaging.templates import TEMPLATES
from models.rules.text import salutation

t = Translator()


def test_no_message_of_the_catalog_reads_wrong_or_cannot_go_out() -> None:
    found = problems(t, frozenset(TEMPLATES))
    assert not found, "\n".join(f"{key} on {channel}: {', '.join(p)}"
                                for (key, channel), p in sorted(found.items()))


def test_the_checks_find_what_they_are_for() -> None:
    """Each check fails on a message written wrong (so the test above can fail)."""
    def check(text: str, channel: str = "whatsapp", audience: str = "staff",
              key: str = "x.y") -> list[str]:
        return problems_of(Rendered(key, channel, audience, text), frozenset({"tpl.key"}))

    assert check("Kehadiran dari data: kehadiran kehadiran 6") == [
        "doubled word 'kehadiran kehadiran'"
    ]
    assert check("Terima kasih, kehadiran Anda sudah dicatat.", audience="kpm") == [
        '"Anda" in a message to a KPM (Ibu/Bapak)'
    ]
    assert check("Terima kasih, Anda sudah terdaftar.") == []  # staff may be "Anda"
    assert check("Ketuk tombol Simpan.", channel="sms") == [
        "'Ketuk' on sms, where nothing can be tapped"
    ]
    assert check("Ketuk tombol Simpan.", channel="telegram") == []
    assert check("Halo {name}") == ["a placeholder left unreplaced"]
    assert check("x" * 1100, key="tpl.key") == ["1100 characters, over 1024 on whatsapp"]
    assert check("x" * 1100, channel="telegram", key="tpl.key") == []
    assert check("x" * 4097, channel="telegram") == ["4097 characters, over 4096 on telegram"]


def test_kpm_messages_reach_kpm_channels_and_group_messages_only_telegram() -> None:
    assert channels_of("rsvp.coming") == ("whatsapp", "sms", "telegram")
    assert channels_of("group.linked") == ("telegram",)
    assert channels_of("attendance.saved") == ("whatsapp", "telegram", "console")
    kpm = {m.key for m in render_all(t) if m.audience == "kpm"}
    assert {"reminder.kpm", "rsvp.coming", "optout.stopped", "pesan.ack_forwarded"} <= kpm
    coming = next(m for m in render_all(t, ["rsvp.coming"]) if m.channel == "sms")
    assert coming.text.startswith("Terima kasih, Ibu Siti Aminah.")


def test_a_kpm_is_ibu_unless_the_nik_says_the_pengurus_is_a_man() -> None:
    assert salutation("3302015508800001") == "Ibu"  # born the 15th: 15 + 40
    assert salutation("3302011508800001") == "Bapak"
    assert salutation(None) == salutation("") == salutation("12345") == "Ibu"
    assert salutation("3302010008800001") == "Ibu"  # not a day: no claim either way


def test_the_review_page_shows_every_message_once_with_its_readers() -> None:
    page = review_page(t)
    assert page.count("\n### `") == len(t.known_keys())
    assert "### `rsvp.coming` (KPM; whatsapp, sms, telegram)" in page
    assert "> Terima kasih, Ibu Siti Aminah. Kehadiran Ibu sudah kami catat." in page
