"""SMS text (GSM-7, segments, fitting), an SMS variant chosen from the catalog, the key a
fallback SMS is deduplicated by, and the Twilio fake's numbers that are not on WhatsApp."""

from __future__ import annotations

import asyncio

import pytest
from twilio.base.exceptions import TwilioRestException

from bot.channels.text import sms_text
from handlers.i18n import Translator
from models.messaging.sms_fallback import fallback_key
from models.rules.sms import cut, fit, gsm7, is_gsm7, segments
from tests.fakes.twilio_api import FakeTwilioApi

pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]
t = Translator()
VALUES = {
    "penerima": "Ibu Siti Aminah",
    "kelompok": "Kelompok Melati",
    "date": "Selasa, 8 Desember 2026",
    "time": "09.00 WIB",
    "place": "Balai Desa Sukamaju",
    "pendamping": "Rina Wati",
}


def test_gsm7_writes_dashes_quotes_and_accents_plainly_and_leaves_emoji_out() -> None:
    assert gsm7("Balai “Desa” – Ruang ‘A’ … 📍 ok") == "Balai \"Desa\" - Ruang 'A' ... ok"
    assert gsm7("Çiçek Şahin, Łódź") == "Çicek Sahin, Lodz"  # Ç and é are GSM-7: kept
    assert gsm7("café über Ñandú") == "café über Ñandu"
    assert gsm7("✅ Siti\n❌ Sri") == "[v] Siti\n[x] Sri"
    assert gsm7("plain text, already GSM-7") == "plain text, already GSM-7"
    assert all(is_gsm7(gsm7(text)) for text in ("中文 text", "🙏🙏", "a\u00a0b", "x\x1by"))


def test_segments_are_counted_as_twilio_bills_them() -> None:
    assert [segments("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # two septets each
    assert segments("–" * 70) == 1 and segments("–" * 71) == 2  # one en dash: UCS-2


@pytest.mark.parametrize("max_segments", [1, 2, 3])
def test_fit_shortens_the_values_not_the_answers(max_segments: int) -> None:
    def render(values: dict[str, str]) -> str:
        return t("reminder.kpm_sms", **values)

    long = {**VALUES, "place": "Balai Desa Sukamaju, " * 20, "penerima": "Ibu Siti " * 10}
    text = fit(render, long, max_segments, ("place", "penerima"))
    assert segments(text) <= max_segments and is_gsm7(text)
    assert "Balas 1 jika hadir, 2 jika tidak bisa." in text
    assert "Selasa, 8 Desember 2026 jam 09.00 WIB" in text
    if max_segments > 1:  # what fits is left as it is
        assert fit(render, VALUES, max_segments, ("place",)) == render(VALUES)


def test_a_text_that_cannot_be_shortened_is_cut_at_a_word() -> None:
    text = cut("kata " * 100, 1)
    assert segments(text) == 1 and text.endswith("kata...")


def test_an_sms_uses_the_catalog_keys_sms_variant_else_the_key_itself() -> None:
    reminder = sms_text({"key": "reminder.kpm", "values": VALUES}, t, 2)
    assert reminder == t("reminder.kpm_sms", **VALUES)
    assert segments(reminder) == 2
    nudge = sms_text({"key": "nudge.today", "values": VALUES}, t, 2)
    assert nudge == gsm7(t("nudge.today", **VALUES))
    written = sms_text({"text": "Halo – " + "x" * 400}, t, 1)
    assert segments(written) == 1 and written.startswith("Halo - ")


def test_a_fallback_is_keyed_by_the_original_with_the_kpm_still_last() -> None:
    assert fallback_key("reminder:12:abc:3:45", 7) == "reminder:12:abc:3~sms:45"
    assert fallback_key("reminder:12:abc:3:45+46", 7) == "reminder:12:abc:3~sms:45+46"
    assert fallback_key(None, 7) == "sms-fallback:7"
    assert fallback_key("x" * 199 + ":1", 7) == "sms-fallback:7"


async def test_the_fake_fails_a_number_not_on_whatsapp_as_twilio_does() -> None:
    async with FakeTwilioApi() as fake:
        client = fake.client()
        fake.not_on_whatsapp("+6281200000001")
        fake.not_on_whatsapp("+6281200000002", code=63024, at_once=True)
        accepted = await asyncio.to_thread(
            client.messages.create, to="whatsapp:+6281200000001", from_="whatsapp:+14155238886",
            body="Halo", status_callback="https://pkh.example.org/twilio/status",
        )
        assert accepted.status == "queued"
        assert fake.messages[accepted.sid]["status"] == "failed"
        ((url, params),) = fake.take_callbacks()
        assert url == "https://pkh.example.org/twilio/status"
        assert (params["MessageStatus"], params["ErrorCode"]) == ("failed", "63003")
        assert fake.take_callbacks() == []
        with pytest.raises(TwilioRestException) as refused:
            await asyncio.to_thread(
                client.messages.create, to="whatsapp:+6281200000002",
                from_="whatsapp:+14155238886", body="Halo",
            )
        assert (refused.value.status, refused.value.code) == (400, 63024)
        sms = await asyncio.to_thread(
            client.messages.create, to="+6281200000001", from_="+6281100000001", body="Halo"
        )
        assert sms.status == "queued" and fake.messages[sms.sid]["status"] == "queued"
