"""The S3-compatible media store against a local S3 (moto in server mode on 127.0.0.1,
through boto3's real HTTP path), and the local store's file modes."""

from __future__ import annotations

import hashlib
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import MediaSettings
from bot.media_store import LocalMediaStore, S3MediaStore, build_media_store, fetch_temp

moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def settings_for(endpoint: str, folder: Path) -> MediaSettings:
    return MediaSettings(
        store="s3",
        folder=str(folder),
        s3_bucket="pendamping-media",
        s3_prefix="media/",
        s3_endpoint_url=endpoint,
        s3_region="ap-southeast-3",
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )


def download(store: LocalMediaStore | S3MediaStore, content: bytes) -> tuple[Path, str]:
    temp = fetch_temp(store.temp_folder)
    temp.write_bytes(content)
    return temp, hashlib.sha256(content).hexdigest()


async def test_the_s3_store_keeps_a_file_once_and_gives_it_back_and_forgets_it(
    s3_endpoint: str, tmp_path: Path
) -> None:
    store = build_media_store(settings_for(s3_endpoint, tmp_path))
    assert isinstance(store, S3MediaStore)
    store._client.create_bucket(
        Bucket="pendamping-media",
        CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"},
    )
    content = b"\xff\xd8\xff" + bytes(range(256)) * 300
    temp, key = download(store, content)
    await store.put(temp, key, "image/jpeg")
    assert not temp.exists()  # uploaded, the temporary file gone
    again, same = download(store, content)
    await store.put(again, same, "image/jpeg")  # sent twice: kept once
    assert [k async for k, _ in store.stored_keys()] == [key]
    head = store._client.head_object(Bucket="pendamping-media", Key=f"media/{key}")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == len(content)
    target = tmp_path / "back.jpg"
    assert await store.fetch(key, target) and target.read_bytes() == content
    await store.delete(key)
    assert not await store.exists(key)
    assert not await store.fetch(key, target)
    await store.delete(key)  # gone already: nothing happens


async def test_the_local_store_keeps_files_only_the_service_can_read(tmp_path: Path) -> None:
    store = build_media_store(MediaSettings(folder=str(tmp_path / "var" / "media")))
    assert isinstance(store, LocalMediaStore)
    temp, key = download(store, b"%PDF-1.4 surat puskesmas")
    await store.put(temp, key, "application/pdf")
    path = store.path_of(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, store.folder, store.temp_folder):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with pytest.raises(ValueError):
        store.path_of("../../etc/passwd")
