"""Files for the media tests, made here: JPEG photos with (or without) EXIF time and GPS,
a voice note's first bytes, and content of a type we do not keep."""

from __future__ import annotations

import io
import random

from PIL import ExifTags, Image

TAKEN = "2026:11:22 09:14:05"
LATITUDE = -6.208333  # 6° 12' 30" S
LONGITUDE = 106.816667  # 106° 49' 0" E


def jpeg(
    *, gps: bool = True, taken: str | None = TAKEN, size: tuple[int, int] = (64, 48),
    seed: int = 1, noise: bool = False,
) -> bytes:
    """A JPEG photo; ``noise`` makes it large (random pixels do not compress)."""
    if noise:
        rng = random.Random(seed)
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (seed % 256, 120, 80))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "S"
        info[ExifTags.GPS.GPSLatitude] = (6.0, 12.0, 30.0)
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = (106.0, 49.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def voice_note(length: int = 4000) -> bytes:
    """An Ogg stream's start (a WhatsApp or Telegram voice note is Ogg Opus)."""
    header = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01"
    return header + bytes(range(256)) * (length // 256)


NOT_A_PHOTO = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program
