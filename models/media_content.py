"""What a file is, by its content: its type from the first bytes (magic numbers, with the
``filetype`` library, never the name or the type the sender's phone claimed), and for a
photo the camera's time and GPS position from its EXIF (Pillow). A copy shared onward
(an export, a digest) leaves out the GPS position: :func:`copy_without_location`.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import filetype
from PIL import ExifTags, Image, UnidentifiedImageError

log = logging.getLogger(__name__)
SNIFF_BYTES = 8192
"""How much of the start of a file the type is found from (``filetype`` reads as much)."""
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"
_GPS_TAG = ExifTags.IFD.GPSInfo.value  # 0x8825
_EXIF_HEADER = b"Exif\x00\x00"

# Some types are named two ways; the first of each pair is what we store and check.
_ALIASES = {"audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4", "image/apng": "image/png"}


def sniff(head: bytes) -> str | None:
    """The MIME type of content starting with ``head``, or None when it is not known."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is None:
        return None
    mime = str(kind.mime)
    return _ALIASES.get(mime, mime)


@dataclass(frozen=True)
class PhotoFacts:
    """When and where a photo was taken, as its EXIF says (each may be missing)."""

    taken_at: datetime | None = None  # the camera's clock, without a zone
    latitude: float | None = None
    longitude: float | None = None


def photo_facts(path: Path) -> PhotoFacts:
    """The EXIF time and GPS position of an image file; empty for anything else, and for
    an image whose EXIF cannot be read (never raises)."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            details = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            written = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(
                ExifTags.Base.DateTime
            )
            latitude = _degrees(
                gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef)
            )
            longitude = _degrees(
                gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
            )
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, TypeError) as error:
        log.info("no EXIF read: %s", type(error).__name__)
        return PhotoFacts()
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        return PhotoFacts(_time(written))
    return PhotoFacts(_time(written), latitude, longitude)


def _time(written: Any) -> datetime | None:
    if not isinstance(written, str):
        return None
    try:
        return datetime.strptime(written.strip("\x00 ")[:19], _EXIF_TIME)
    except ValueError:
        return None


def _degrees(parts: Any, ref: Any) -> float | None:
    """EXIF's (degrees, minutes, seconds) rationals and N/S/E/W as signed degrees."""
    try:
        d, m, s = (float(part) for part in parts)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper() in ("S", "W"):
        value = -value
    return round(value, 6)


def copy_without_location(source: Path, content_type: str, target: IO[bytes]) -> None:
    """Write ``source`` to ``target`` as it is, but a JPEG without its EXIF GPS position
    (the segment rewritten: the picture itself is not encoded again) and another image
    re-saved without EXIF. Audio and documents are copied unchanged."""
    if content_type == "image/jpeg":
        _jpeg_without_gps(source, target)
    elif content_type in ("image/png", "image/webp"):
        with Image.open(source) as image:
            image.save(target, format=image.format or "PNG")  # no exif= given: none kept
    else:
        with source.open("rb") as handle:
            shutil.copyfileobj(handle, target)


def _jpeg_without_gps(source: Path, target: IO[bytes]) -> None:
    with Image.open(source) as image:
        exif = image.getexif()
        had_gps = _GPS_TAG in exif
        if had_gps:
            del exif[_GPS_TAG]
        replacement = exif.tobytes() if had_gps else None
    with source.open("rb") as handle:
        data = handle.read(2)
        if data != b"\xff\xd8" or replacement is None:  # not a JPEG start, or nothing to drop
            target.write(data)
            shutil.copyfileobj(handle, target)
            return
        target.write(data)
        while True:
            marker = handle.read(2)
            if len(marker) < 2 or marker[0] != 0xFF or marker[1] in (0xDA, 0xD9):
                target.write(marker)  # the picture data from here on: copied unchanged
                shutil.copyfileobj(handle, target)
                return
            size_bytes = handle.read(2)
            length = int.from_bytes(size_bytes, "big")
            body = handle.read(max(0, length - 2))
            if marker == b"\xff\xe1" and body.startswith(_EXIF_HEADER):
                body = replacement if replacement.startswith(_EXIF_HEADER) else (
                    _EXIF_HEADER + replacement
                )
                size_bytes = (len(body) + 2).to_bytes(2, "big")
            target.write(marker + size_bytes + body)
