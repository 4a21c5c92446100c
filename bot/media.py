"""Time-limited signed URLs for generated files (WhatsApp fetches media by URL).

``/media/<id>?e=<expiry>&s=<signature>``: the signature is an HMAC-SHA256 of the file id
and the expiry with ``web.media_url_secret`` (or, when unset, the Twilio auth token, a
secret every process of a deployment already shares). A URL is refused after its expiry
or when any part of it was changed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings

DEFAULT_TTL = timedelta(hours=24)
_EXPIRES = re.compile(r"[0-9]{1,12}")  # ASCII digits, a Unix time
_SIGNATURE = re.compile(r"[0-9a-f]{64}")  # HMAC-SHA256 in hex


@dataclass(frozen=True)
class MediaSigner:
    secret: bytes
    base_url: str
    ttl: timedelta = DEFAULT_TTL

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaSigner | None:
        """A signer when a public base URL and a secret are configured, else None."""
        base = settings.twilio.public_base_url
        secret = settings.web.media_url_secret or settings.twilio.auth_token
        if not base or secret is None or not secret.get_secret_value():
            return None  # an empty key would let anyone sign URLs
        return cls(secret.get_secret_value().encode(), base.rstrip("/"))

    def _signature(self, file_id: int, expires: int) -> str:
        message = f"{file_id}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def url(self, file_id: int, *, now: datetime) -> str:
        expires = int((now + self.ttl).timestamp())
        return f"{self.base_url}/media/{file_id}?e={expires}&s={self._signature(file_id, expires)}"

    def valid(self, file_id: int, expires: str, signature: str, *, now: datetime) -> bool:
        """The URL is as signed and not expired. Anything malformed is simply invalid."""
        if not _EXPIRES.fullmatch(expires) or not _SIGNATURE.fullmatch(signature):
            return False
        if int(expires) <= now.timestamp():
            return False
        return hmac.compare_digest(self._signature(file_id, int(expires)), signature)
