"""The Twilio Messages API fake, driven through the real ``twilio`` SDK (sync and async)."""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    OUTSIDE_WINDOW,
    FakeTwilioApi,
    TwilioError,
    inbound_sms_params,
    inbound_whatsapp_params,
    status_callback_params,
    twilio_signature,
)

USER = "whatsapp:+6281234567890"
SANDBOX = "whatsapp:+14155238886"
SMS_USER = "+6281234567890"
SMS_NUMBER = "+6281100000001"
CONTENT_SID = "HX" + "b" * 32
WEBHOOK_URL = "https://pendamping.example.id/twilio/whatsapp"

# twilio's AsyncTwilioHttpClient passes aiohttp.BasicAuth as `auth` (deprecated in aiohttp 3.14)
pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilioApi]:
    async with FakeTwilioApi() as api:
        yield api


async def create(client: Client, **kwargs: Any) -> Any:
    """The sync SDK blocks: run it in a thread while the fake serves in this loop."""
    return await asyncio.to_thread(client.messages.create, **kwargs)


async def rest_error(client: Client, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        await create(client, **kwargs)
    return info.value


# --------------------------------------------------------------------- creating messages


async def test_whatsapp_message_is_created_like_twilio(fake: FakeTwilioApi) -> None:
    client = fake.client()

    message = await create(client, to=USER, from_=SANDBOX, body="Halo Ani")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (USER, SANDBOX, "Halo Ani")
    assert message.direction == "outbound-api"
    assert message.account_sid == fake.account_sid
    assert message.date_created is not None and message.date_sent is None
    assert message.error_code is None and message.price is None

    raw = fake.messages[message.sid]
    assert email.utils.parsedate_to_datetime(raw["date_created"]) == message.date_created
    assert raw["uri"] == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json"
    assert raw["subresource_uris"]["media"].endswith(f"/Messages/{message.sid}/Media.json")
    assert (raw["num_segments"], raw["num_media"], raw["api_version"]) == ("1", "0", "2010-04-01")

    [call] = fake.calls
    assert (call.method, call.status, call.auth_ok) == ("POST", 201, True)
    assert call.path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    assert call.params == {"To": USER, "From": SANDBOX, "Body": "Halo Ani"}
    assert await fake.wait_for_messages(1) == [raw]


async def test_template_with_content_variables_and_media(fake: FakeTwilioApi) -> None:
    fake.templates[CONTENT_SID] = "Halo {{1}}, pertemuan P2K2 {{2}}."
    variables = json.dumps({"1": "Ani", "2": "Senin 10.00"})

    message = await create(
        fake.client(),
        to=USER,
        from_=SANDBOX,
        content_sid=CONTENT_SID,
        content_variables=variables,
        status_callback="https://pendamping.example.id/twilio/status",
    )

    assert message.body == "Halo Ani, pertemuan P2K2 Senin 10.00."
    assert fake.calls[0].params == {
        "To": USER,
        "From": SANDBOX,
        "ContentSid": CONTENT_SID,
        "ContentVariables": variables,
        "StatusCallback": "https://pendamping.example.id/twilio/status",
    }

    media = await create(
        fake.client(), to=USER, from_=SANDBOX, media_url=["https://x.example/a.jpg"] * 2
    )
    assert media.sid.startswith("MM") and media.num_media == "2"
    assert fake.calls[1].params["MediaUrl"] == ["https://x.example/a.jpg"] * 2


async def test_messaging_service_without_from_is_accepted(fake: FakeTwilioApi) -> None:
    service = "MG" + "c" * 32
    message = await create(fake.client(), to=SMS_USER, messaging_service_sid=service, body="x")
    assert (message.status, message.from_, message.messaging_service_sid) == (
        "accepted",
        None,
        service,
    )


@pytest.mark.parametrize(
    ("kwargs", "code", "text"),
    [
        ({"from_": SANDBOX, "body": "x", "to": ""}, 21604, "A 'To' phone number is required."),
        ({"to": USER, "body": "x"}, 21603, "A 'From' phone number is required."),
        (
            {"to": USER, "from_": SANDBOX},
            21619,
            "A text message body or media urls must be specified.",
        ),
        (
            {"to": USER, "from_": SANDBOX, "content_sid": CONTENT_SID, "content_variables": "{1"},
            21656,
            "The ContentVariables Parameter is invalid.",
        ),
        (
            {"to": USER, "from_": SANDBOX, "content_sid": CONTENT_SID, "content_variables": "[]"},
            21656,
            "The ContentVariables Parameter is invalid.",
        ),
        (
            {"to": SMS_USER, "from_": SANDBOX, "body": "x"},
            21910,
            "Invalid From and To pair. From and To should be of the same channel",
        ),
        (
            {"to": "whatsapp:0812", "from_": SANDBOX, "body": "x"},
            21211,
            "The 'To' number whatsapp:0812 is not a valid phone number.",
        ),
        (
            {"to": USER, "from_": SANDBOX, "body": "x" * 1601},
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ),
    ],
)
async def test_invalid_requests_answer_twilio_errors(
    fake: FakeTwilioApi, kwargs: dict[str, Any], code: int, text: str
) -> None:
    error = await rest_error(fake.client(), **kwargs)

    assert (error.status, error.code) == (400, code)
    assert error.msg == f"Unable to create record: {text}"
    assert fake.calls[0].status == 400
    assert fake.messages == {}


async def test_wrong_auth_token_is_401_20003(fake: FakeTwilioApi) -> None:
    error = await rest_error(fake.client(auth_token="wrong"), to=USER, from_=SANDBOX, body="Halo")

    assert (error.status, error.code) == (401, 20003)
    assert error.msg == "Unable to create record: Authenticate"
    assert fake.calls[0].auth_ok is False
    assert fake.messages == {}


# --------------------------------------------------------------------- injected failures


async def test_fail_next_outside_window_63016(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.fail_next(code=63016)

    error = await rest_error(client, to=USER, from_=SANDBOX, body="Halo")
    assert (error.status, error.code) == (400, 63016)
    assert error.msg == f"Unable to create record: {OUTSIDE_WINDOW}"

    message = await create(client, to=USER, from_=SANDBOX, body="Halo")  # only once
    assert message.status == "queued"
    assert [call.status for call in fake.calls] == [400, 201]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"status": 400}, 400, 21211),
        ({"status": 400, "code": 21610}, 400, 21610),
        ({"status": 400, "code": 21408}, 400, 21408),
        ({"status": 500}, 500, 20500),
        ({"status": 503}, 503, 20503),
    ],
)
async def test_fail_next_statuses(
    fake: FakeTwilioApi, fault: dict[str, Any], status: int, code: int
) -> None:
    fake.fail_next(**fault)
    error = await rest_error(fake.client(), to=SMS_USER, from_=SMS_NUMBER, body="x")
    assert (error.status, error.code) == (status, code)


async def test_fail_next_429_with_retry_after(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.fail_next(status=429, retry_after=7, times=2)

    for _ in range(2):
        error = await rest_error(client, to=USER, from_=SANDBOX, body="Halo")
        assert (error.status, error.code) == (429, 20429)
        assert error.msg == "Unable to create record: Too Many Requests"
    # The exception has no headers; the SDK keeps the raw last response on its http client.
    assert client.http_client._test_only_last_response.headers["Retry-After"] == "7"
    assert (await create(client, to=USER, from_=SANDBOX, body="Halo")).status == "queued"


async def test_drop_next_raises_requests_connection_error(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.drop_next()

    with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
        await create(client, to=USER, from_=SANDBOX, body="Halo")
    assert fake.calls[0].status == 0
    assert fake.messages == {}
    assert (await create(client, to=USER, from_=SANDBOX, body="Halo")).status == "queued"


async def test_delay_next_past_the_timeout_raises_read_timeout(fake: FakeTwilioApi) -> None:
    fake.delay_next(2.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        await create(fake.client(timeout=0.2), to=USER, from_=SANDBOX, body="Halo")
    # Twilio had queued it all the same: the outcome is ambiguous for the sender.
    [message] = await fake.wait_for_messages(1)
    assert message["body"] == "Halo"
    for _ in range(100):
        if fake.calls[0].disconnected:
            break
        await asyncio.sleep(0.01)
    assert fake.calls[0].disconnected


async def test_delay_within_the_timeout_answers(fake: FakeTwilioApi) -> None:
    fake.delay_next(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    message = await create(fake.client(timeout=2), to=USER, from_=SANDBOX, body="Halo")
    assert message.status == "queued"
    assert loop.time() - started >= 0.2


# --------------------------------------------------------------------- async SDK path


async def test_async_client_creates_and_maps_errors(fake: FakeTwilioApi) -> None:
    client = fake.async_client(timeout=0.3)

    message = await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")
    assert message.status == "queued" and message.sid in fake.messages

    fake.fail_next(status=429)
    with pytest.raises(TwilioRestException) as info:
        await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")
    assert (info.value.status, info.value.code) == (429, 20429)

    fake.drop_next()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")

    fake.delay_next(2.0)
    with pytest.raises(TimeoutError):
        await client.messages.create_async(to=USER, from_=SANDBOX, body="Halo")

    account = await client.api.account.fetch_async()
    assert account.status == "active"


# --------------------------------------------------------------------- reading back


async def test_account_fetch_for_a_credentials_check(fake: FakeTwilioApi) -> None:
    account = await asyncio.to_thread(fake.client().api.account.fetch)

    assert (account.sid, account.status, account.type) == (DEFAULT_ACCOUNT_SID, "active", "Full")
    assert account.friendly_name
    assert fake.calls[0].method == "GET"
    assert fake.calls[0].path == f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}.json"

    bad = fake.client(auth_token="wrong").api.account.fetch
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(bad)
    assert (info.value.status, info.value.code) == (401, 20003)

    fake.drop_next(endpoint="account")
    with pytest.raises(requests.exceptions.ConnectionError):
        await asyncio.to_thread(fake.client().api.account.fetch)


async def test_message_fetch_and_status_update(fake: FakeTwilioApi) -> None:
    client = fake.client()
    sent = await create(client, to=USER, from_=SANDBOX, body="Halo")
    fake.set_status(sent.sid, "undelivered", error_code=63016)

    fetched = await asyncio.to_thread(client.messages(sent.sid).fetch)
    assert (fetched.status, fetched.error_code) == ("undelivered", 63016)
    assert fetched.error_message == OUTSIDE_WINDOW

    listed = await asyncio.to_thread(client.messages.list, to=USER)
    assert [message.sid for message in listed] == [sent.sid]

    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(client.messages("SM" + "0" * 32).fetch)
    assert (info.value.status, info.value.code) == (404, 20404)


# --------------------------------------------------------------------- rate limit


async def test_rate_limit_answers_429_beyond_the_window(fake: FakeTwilioApi) -> None:
    fake.limit(3)
    client = fake.async_client()

    results = await asyncio.gather(
        *(client.messages.create_async(to=USER, from_=SANDBOX, body=str(i)) for i in range(5)),
        return_exceptions=True,
    )

    errors = [result for result in results if isinstance(result, TwilioRestException)]
    assert len(fake.messages) == 3
    assert [(error.status, error.code) for error in errors] == [(429, 20429)] * 2
    assert sum(fake.sends_per_second().values()) == 3
    assert max(fake.sends_per_second().values()) <= 3
    assert fake.max_sends_in_window() == 3

    fake.limit(None)
    await client.messages.create_async(to=USER, from_=SANDBOX, body="free")
    assert len(fake.messages) == 4


# --------------------------------------------------------------------- Content API

REMINDER = "Halo {{1}}, pertemuan P2K2 hari {{2}} pukul {{3}}. Mohon hadir ya."
REMINDER_VARIABLES = {"1": "Ani", "2": "Senin", "3": "10.00"}
ISO_8601 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def content_request(**fields: Any) -> ContentList.ContentCreateRequest:
    """A create request as the project builds it; ``fields`` override the defaults."""
    payload: dict[str, Any] = {
        "friendly_name": "pengingat_p2k2",
        "language": "id",
        "variables": REMINDER_VARIABLES,
        "types": {"twilio/text": {"body": REMINDER}},
    }
    return ContentList.ContentCreateRequest(payload | fields)


async def create_content(client: Client, **fields: Any) -> Any:
    return await asyncio.to_thread(client.content.v1.contents.create, content_request(**fields))


async def content_error(client: Client, **fields: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        await create_content(client, **fields)
    return info.value


async def test_text_content_is_created_like_twilio(fake: FakeTwilioApi) -> None:
    client = fake.client()

    content = await create_content(client)

    assert re.fullmatch(r"HX[0-9a-f]{32}", content.sid)
    assert (content.account_sid, content.friendly_name, content.language) == (
        fake.account_sid,
        "pengingat_p2k2",
        "id",
    )
    assert content.variables == REMINDER_VARIABLES
    # Types.to_dict() names every type; only the one given comes back
    assert content.types == {"twilio/text": {"body": REMINDER}}
    url = f"https://content.twilio.com/v1/Content/{content.sid}"
    assert content.url == url
    assert content.links == {
        "approval_create": f"{url}/ApprovalRequests/whatsapp",
        "approval_fetch": f"{url}/ApprovalRequests",
    }
    assert content.date_created is not None and content.date_created == content.date_updated
    raw = fake.contents[content.sid]
    assert ISO_8601.fullmatch(raw["date_created"]) and raw["date_updated"] == raw["date_created"]
    assert fake.templates[content.sid] == REMINDER

    [call] = fake.calls_to("content")
    assert (call.method, call.path, call.status, call.auth_ok) == ("POST", "/v1/Content", 201, True)
    assert json.loads(call.body) == call.params
    assert call.params == {
        "friendly_name": "pengingat_p2k2",
        "language": "id",
        "variables": REMINDER_VARIABLES,
        "types": {"twilio/text": {"body": REMINDER}},
    }
    assert fake.calls_to("messages") == []


async def test_media_and_quick_reply_contents_through_the_async_sdk(fake: FakeTwilioApi) -> None:
    client = fake.async_client()
    contents = client.content.v1.contents

    media = await contents.create_async(
        content_request(
            friendly_name="laporan_bulanan",
            variables={"1": "Ani", "2": "laporan-2025-01.pdf"},
            types={
                "twilio/media": {
                    "body": "Halo {{1}}, laporan bulan ini terlampir.",
                    "media": ["https://files.example.id/laporan/{{2}}"],
                }
            },
        )
    )
    assert media.types == {
        "twilio/media": {
            "body": "Halo {{1}}, laporan bulan ini terlampir.",
            "media": ["https://files.example.id/laporan/{{2}}"],
        }
    }
    assert fake.templates[media.sid] == "Halo {{1}}, laporan bulan ini terlampir."

    actions = [{"title": "Hadir", "id": "att:hadir"}, {"title": "Tidak hadir", "id": "att:absen"}]
    quick = await contents.create_async(
        content_request(
            friendly_name="konfirmasi_hadir",
            types={"twilio/quick-reply": {"body": REMINDER, "actions": actions}},
        )
    )
    # the SDK's QuickReplyAction sends "type": null; it is not echoed back
    assert quick.types == {"twilio/quick-reply": {"body": REMINDER, "actions": actions}}
    assert quick.variables == REMINDER_VARIABLES
    assert list(fake.contents) == [media.sid, quick.sid]
    assert [call.status for call in fake.calls_to("content")] == [201, 201]


async def test_stock_async_http_client_form_encodes_json_and_is_refused(
    fake: FakeTwilioApi,
) -> None:
    """twilio 9.x's AsyncTwilioHttpClient form-encodes a JSON body (twilio-python#932); Twilio,
    and the fake, answer 400. The fake's async_client() serializes it (see above)."""
    http_client = AsyncTwilioHttpClient()
    try:
        client = fake.point(Client(fake.account_sid, fake.auth_token, http_client=http_client))
        with pytest.raises(TwilioRestException) as info:
            await client.content.v1.contents.create_async(content_request())
    finally:
        await http_client.close()

    assert (info.value.status, info.value.code) == (400, 20001)
    assert info.value.msg == "Unable to create record: Request input may be invalid"
    [call] = fake.calls
    assert call.body.startswith(b"friendly_name=pengingat_p2k2&")
    assert call.error.startswith("the body is not JSON")
    assert fake.contents == {}


def _quick_reply(*titles: str, body: str = REMINDER) -> dict[str, Any]:
    actions = [{"title": title, "id": f"id{i}"} for i, title in enumerate(titles)]
    return {"twilio/quick-reply": {"body": body, "actions": actions}}


def _text(body: str) -> dict[str, Any]:
    return {"twilio/text": {"body": body}}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"friendly_name": None},
            "Missing required parameter friendly_name in the post body",
        ),
        ({"friendly_name": 7}, "friendly_name must be a string"),
        (
            {"friendly_name": "x" * 65},
            "friendly_name is 65 characters long: at most 64 are allowed",
        ),
        ({"language": None}, "Missing required parameter language in the post body"),
        ({"language": "bahasa"}, "Invalid language 'bahasa': use a code such as 'id' or 'en'"),
        ({"types": None}, "Missing required parameter types in the post body"),
        (
            {"types": {"twilio/text": None}},
            "types must contain at least one content type, e.g. twilio/text",
        ),
        ({"types": _text("")}, "twilio/text requires a non-empty body"),
        (
            {"variables": None, "types": _text("x" * 1025)},
            "twilio/text body is 1025 characters long: at most 1024 are allowed",
        ),
        (
            {"variables": None, "types": {"twilio/media": {"body": "Laporan terlampir."}}},
            "twilio/media requires media: a list with one URL",
        ),
        (
            {
                "variables": None,
                "types": {
                    "twilio/media": {
                        "body": "Laporan terlampir.",
                        "media": ["https://x.example/a.pdf", "https://x.example/b.pdf"],
                    }
                },
            },
            "twilio/media takes one media URL on WhatsApp, got 2",
        ),
        (
            {
                "variables": None,
                "types": {"twilio/media": {"body": "Laporan.", "media": ["laporan.pdf"]}},
            },
            "twilio/media media URL 'laporan.pdf' is not a valid http(s) URL",
        ),
        (
            {"types": _quick_reply()},
            "twilio/quick-reply requires actions: a list of {title, id}",
        ),
        (
            {"types": _quick_reply("A", "B", "C", "D")},
            "twilio/quick-reply has 4 actions: at most 3 are allowed",
        ),
        (
            {"types": _quick_reply("Hadir bersama keluarga")},
            "twilio/quick-reply action title 'Hadir bersama keluarga' is 22 characters long: "
            "at most 20 are allowed",
        ),
        (
            {
                "types": {
                    "twilio/quick-reply": {"body": REMINDER, "actions": [{"title": "Hadir"}]}
                }
            },
            "twilio/quick-reply action 0 requires an id",
        ),
        (
            {"variables": {"1": "Ani"}, "types": _text("Halo {{1}}, hari {{2}}.")},
            "Variable {{2}} is used but not declared in variables (with a sample value)",
        ),
        (
            {"variables": {"1": "Ani", "2": "Senin"}, "types": _text("Halo {{1}}.")},
            "Variable '2' is declared in variables but never used",
        ),
        (
            {"variables": {"1": "Ani", "3": "Senin"}, "types": _text("Halo {{1}}, {{3}}.")},
            "Variables must be numbered from 1 without gaps: got 1, 3",
        ),
        (
            {"variables": {"nama": "Ani"}, "types": _text("Halo {{nama}}.")},
            "Invalid variable name 'nama': variables are numbered '1', '2'...",
        ),
        (
            {"variables": {"1": ""}, "types": _text("Halo {{1}}.")},
            "Variable '1' needs a non-empty sample value",
        ),
        (
            {"variables": {"1": "Ani"}, "types": _text("Halo {{ 1 }}.")},
            "Invalid placeholder '{{ 1 }}': use {{1}}, {{2}}... without spaces",
        ),
        (
            {"variables": {"1": "Ani"}, "types": _text("Halo {{1}}, {2}} hadir.")},
            "Malformed placeholder in 'Halo {{1}}, {2}} hadir.': '{{' without '}}'",
        ),
        (
            {"variables": {"1": "Ani"}, "types": _text("{{1}}, pertemuan besok.")},
            "twilio/text body may not start with a variable: WhatsApp rejects such templates",
        ),
        (
            {"variables": {"1": "Ani"}, "types": _text("Pertemuan besok, {{1}}")},
            "twilio/text body may not end with a variable: WhatsApp rejects such templates",
        ),
        (
            {"variables": {"1": "Senin", "2": "10.00"}, "types": _text("Hari {{1}}{{2}} ya.")},
            "twilio/text body has two adjacent variables: WhatsApp rejects such templates",
        ),
        (
            {"variables": {"1": "Senin", "2": "10.00"}, "types": _text("Hari {{1}} {{2}} ya.")},
            "twilio/text body has two adjacent variables: WhatsApp rejects such templates",
        ),
        (
            {"types": _quick_reply("Hadir", body="Hadir {{1}} {{2}} {{3}}?")},
            "twilio/quick-reply body has two adjacent variables: WhatsApp rejects such "
            "templates",
        ),
    ],
)
async def test_invalid_contents_answer_400(
    fake: FakeTwilioApi, fields: dict[str, Any], message: str
) -> None:
    error = await content_error(fake.client(), **fields)

    assert (error.status, error.code) == (400, 20001)
    assert error.msg == f"Unable to create record: {message}"
    assert fake.calls_to("content")[0].status == 400
    assert fake.contents == {} and fake.templates == {}


def test_create_content_refuses_what_the_sdk_cannot_send() -> None:
    fake = FakeTwilioApi()  # create_content needs no server
    with pytest.raises(TwilioError, match="Unsupported content type 'twilio/pay'"):
        fake.create_content({"friendly_name": "x", "language": "id", "types": {"twilio/pay": {}}})
    with pytest.raises(TwilioError, match="Request input may be invalid"):
        fake.create_content(["not", "an", "object"])
    # nulls inside types (curl, other SDKs) are dropped like the Python SDK drops them
    content = fake.create_content(
        {
            "friendly_name": "x",
            "language": "en",
            "variables": None,
            "types": {"twilio/text": {"body": "Hi"}, "twilio/media": None},
        }
    )
    assert (content["types"], content["variables"]) == ({"twilio/text": {"body": "Hi"}}, {})


async def test_duplicate_friendly_name_is_accepted(fake: FakeTwilioApi) -> None:
    client = fake.client()
    first = await create_content(client)
    second = await create_content(client)
    assert first.sid != second.sid and first.friendly_name == second.friendly_name


async def test_content_list_fetch_and_delete(fake: FakeTwilioApi) -> None:
    client = fake.client()
    contents = client.content.v1.contents
    sids = [(await create_content(client, friendly_name=f"t{i}")).sid for i in range(3)]

    listed = await asyncio.to_thread(contents.list, page_size=2)  # two pages, followed by the SDK
    assert [content.sid for content in listed] == sids
    first_page, second_page = fake.calls_to("content")[3:]
    assert first_page.params == {"PageSize": "2"}
    assert second_page.params == {"PageSize": "2", "Page": "1", "PageToken": "PT2"}

    fetched = await asyncio.to_thread(contents(sids[1]).fetch)
    assert (fetched.friendly_name, fetched.types) == ("t1", {"twilio/text": {"body": REMINDER}})

    assert await asyncio.to_thread(contents(sids[1]).delete) is True
    assert fake.calls[-1].status == 204
    assert list(fake.contents) == [sids[0], sids[2]] and sids[1] not in fake.templates
    for gone in (contents(sids[1]).fetch, contents(sids[1]).delete):
        with pytest.raises(TwilioRestException) as info:
            await asyncio.to_thread(gone)
        assert (info.value.status, info.value.code) == (404, 20404)
    assert [c.sid for c in await asyncio.to_thread(contents.list)] == [sids[0], sids[2]]

    bad = fake.client(auth_token="wrong").content.v1.contents
    with pytest.raises(TwilioException, match="Unable to fetch page"):  # the SDK's Page raises
        await asyncio.to_thread(bad.list)
    for call in (bad(sids[0]).fetch, functools.partial(bad.create, content_request())):
        with pytest.raises(TwilioRestException) as info:
            await asyncio.to_thread(call)
        assert (info.value.status, info.value.code) == (401, 20003)
    assert [call.status for call in fake.calls[-3:]] == [401] * 3


async def test_fail_next_on_the_content_endpoint(fake: FakeTwilioApi) -> None:
    client = fake.client()
    fake.fail_next(status=503, endpoint="content")

    error = await content_error(client)
    assert (error.status, error.code) == (503, 20503)
    assert (await create(client, to=USER, from_=SANDBOX, body="Halo")).status == "queued"
    assert (await create_content(client)).sid in fake.contents
    fake.fail_next(endpoint="content")  # a 400 on the Content API defaults to 20001
    assert (await content_error(client)).code == 20001


# --------------------------------------------------------------------- sending created contents


async def send_content(client: Client, sid: str, variables: Any = None) -> Any:
    kwargs: dict[str, Any] = {"to": USER, "from_": SANDBOX, "content_sid": sid}
    if variables is not None:
        kwargs["content_variables"] = (
            variables if isinstance(variables, str) else json.dumps(variables)
        )
    return await create(client, **kwargs)


async def test_sending_created_contents_renders_them(fake: FakeTwilioApi) -> None:
    client = fake.client()
    text = await create_content(client)
    quick = await create_content(
        client, types=_quick_reply("Hadir", "Tidak", body="Halo {{1}}, P2K2 {{2}} jam {{3}}?")
    )
    media = await create_content(
        client,
        variables={"1": "Ani", "2": "jan.pdf"},
        types={
            "twilio/media": {
                "body": "Halo {{1}}, laporan terlampir.",
                "media": ["https://files.example.id/{{2}}"],
            }
        },
    )
    week = {"1": "Budi", "2": "Selasa", "3": "09.30"}

    sent = await send_content(client, text.sid, week)
    assert sent.body == "Halo Budi, pertemuan P2K2 hari Selasa pukul 09.30. Mohon hadir ya."
    assert (sent.num_media, sent.sid[:2]) == ("0", "SM")

    assert (await send_content(client, quick.sid, week)).body == "Halo Budi, P2K2 Selasa jam 09.30?"

    report = await send_content(client, media.sid, {"1": "Budi", "2": "feb.pdf"})
    assert report.body == "Halo Budi, laporan terlampir."
    assert (report.num_media, report.sid[:2]) == ("1", "MM")
    assert fake.message_media == {report.sid: ["https://files.example.id/feb.pdf"]}
    assert fake.calls_to("messages")[-1].params["ContentVariables"] == json.dumps(
        {"1": "Budi", "2": "feb.pdf"}
    )


@pytest.mark.parametrize(
    ("variables", "code", "why"),
    [
        (None, 21656, "missing ['1', '2', '3']"),
        ({"1": "Budi", "2": "Selasa"}, 21656, "missing ['3'], extra []"),
        ({**REMINDER_VARIABLES, "4": "x"}, 21656, "missing [], extra ['4']"),
        ({"1": "Budi", "2": "Selasa", "03": "09.30"}, 21656, "missing ['3'], extra ['03']"),
        ({**REMINDER_VARIABLES, "1": ""}, 21656, "variable '1' is empty"),
        ({**REMINDER_VARIABLES, "1": None}, 21656, "variable '1' is None, not a string"),
        ({**REMINDER_VARIABLES, "2": "Senin\nSelasa"}, 21656, "has a newline, a tab"),
        ({**REMINDER_VARIABLES, "2": "Senin\tSelasa"}, 21656, "has a newline, a tab"),
        ({**REMINDER_VARIABLES, "2": "Senin     Selasa"}, 21656, "more than 4 consecutive"),
        ({**REMINDER_VARIABLES, "2": "x" * 1025}, 21658, "1025 characters long"),
    ],
)
async def test_wrong_content_variables_are_refused(
    fake: FakeTwilioApi, variables: dict[str, Any] | None, code: int, why: str
) -> None:
    client = fake.client()
    content = await create_content(client)

    with pytest.raises(TwilioRestException) as info:
        await send_content(client, content.sid, variables)

    text = {
        21656: "The ContentVariables Parameter is invalid.",
        21658: "Parameter exceeded character limit",
    }[code]
    assert (info.value.status, info.value.code) == (400, code)
    assert info.value.msg == f"Unable to create record: {text}"
    assert why in fake.calls[-1].error
    assert fake.messages == {}


async def test_lenient_content_variables_fall_back_to_the_samples(fake: FakeTwilioApi) -> None:
    """Twilio documents that an omitted variable takes the template's sample value."""
    client = fake.client()
    content = await create_content(client)
    fake.strict_content_variables = False

    sent = await send_content(client, content.sid, {"1": "Budi", "9": "ignored"})
    assert sent.body == "Halo Budi, pertemuan P2K2 hari Senin pukul 10.00. Mohon hadir ya."
    with pytest.raises(TwilioRestException) as info:  # values are still checked
        await send_content(client, content.sid, {"1": " "})
    assert info.value.code == 21656


async def test_unknown_and_deleted_content_sids(fake: FakeTwilioApi) -> None:
    client = fake.client()
    # a ContentSid the fake never created: rendered from fake.templates, unchecked, as before
    fake.templates[CONTENT_SID] = "Halo {{1}}"
    assert (await send_content(client, CONTENT_SID, {"1": "Ani", "2": "x"})).body == "Halo Ani"
    assert (await send_content(client, "HX" + "c" * 32)).body == ""

    content = await create_content(client)
    await asyncio.to_thread(client.content.v1.contents(content.sid).delete)
    with pytest.raises(TwilioRestException) as info:
        await send_content(client, content.sid, REMINDER_VARIABLES)
    assert (info.value.status, info.value.code) == (400, 21655)


# --------------------------------------------------------------------- webhook builders


def test_inbound_whatsapp_text_params() -> None:
    params = inbound_whatsapp_params(body="hadir")

    assert re.fullmatch(r"SM[0-9a-f]{32}", params["MessageSid"])
    assert params["SmsSid"] == params["SmsMessageSid"] == params["MessageSid"]
    assert params | {"MessageSid": "", "SmsSid": "", "SmsMessageSid": ""} == {
        "SmsMessageSid": "",
        "NumMedia": "0",
        "ProfileName": "Ani",
        "MessageType": "text",
        "SmsSid": "",
        "WaId": "6281234567890",
        "SmsStatus": "received",
        "Body": "hadir",
        "To": SANDBOX,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": "",
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": USER,
        "ApiVersion": "2010-04-01",
    }


def test_inbound_whatsapp_media_and_button_params() -> None:
    photo = inbound_whatsapp_params(num_media=2, media_types=["image/jpeg", "application/pdf"])
    assert photo["MessageSid"].startswith("MM")
    assert (photo["NumMedia"], photo["MessageType"], photo["Body"]) == ("2", "image", "")
    assert photo["MediaUrl1"].startswith(
        f"https://api.twilio.com/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages/"
        f"{photo['MessageSid']}/Media/ME"
    )
    assert photo["MediaContentType1"] == "application/pdf"

    tap = inbound_whatsapp_params(button_payload="att:7:hadir", button_text="Hadir")
    assert (tap["MessageType"], tap["Body"]) == ("button", "Hadir")
    assert (tap["ButtonPayload"], tap["ButtonText"]) == ("att:7:hadir", "Hadir")


def test_inbound_sms_and_status_callback_params() -> None:
    sms = inbound_sms_params(body="halo")
    assert (sms["From"], sms["To"], sms["FromCountry"], sms["SmsStatus"]) == (
        SMS_USER,
        SMS_NUMBER,
        "ID",
        "received",
    )

    sid = "SM" + "d" * 32
    delivered = status_callback_params(message_sid=sid, status="delivered")
    assert delivered["MessageStatus"] == delivered["SmsStatus"] == "delivered"
    assert delivered["MessageSid"] == delivered["SmsSid"] == sid
    assert (delivered["ChannelPrefix"], delivered["ChannelToAddress"]) == (
        "whatsapp",
        "+6281234567890",
    )
    assert "ErrorCode" not in delivered

    failed = status_callback_params(message_sid=sid, status="failed", error_code="63016")
    assert failed["ErrorCode"] == "63016"
    sms_failed = status_callback_params(
        message_sid=sid, status="undelivered", to=SMS_USER, channel="sms"
    )
    assert (sms_failed["From"], sms_failed["ErrorCode"]) == (SMS_NUMBER, "30008")
    assert "ChannelPrefix" not in sms_failed


@pytest.mark.parametrize(
    "params",
    [
        inbound_whatsapp_params(),
        inbound_whatsapp_params(num_media=1, button_text="Hadir"),
        inbound_sms_params(),
        status_callback_params(message_sid="SM" + "e" * 32, status="read"),
    ],
)
def test_signatures_validate_and_detect_tampering(params: dict[str, str]) -> None:
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    signature = twilio_signature(DEFAULT_AUTH_TOKEN, WEBHOOK_URL, params)

    assert validator.validate(WEBHOOK_URL, params, signature)
    assert not validator.validate(WEBHOOK_URL, params | {"Body": "tampered"}, signature)
    assert not validator.validate(WEBHOOK_URL + "?x=1", params, signature)
    assert not validator.validate(WEBHOOK_URL.replace("whatsapp", "sms"), params, signature)
    assert not RequestValidator("other-token").validate(WEBHOOK_URL, params, signature)
