"""A stored response and its wire format (for Redis and the embedded store)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import orjson

_HEADER_LEN = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class CacheEntry:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    """The upstream's raw bytes: a JSON body, or the whole SSE stream as it was framed."""
    stream: bool
    source_id: str
    """Id of the request whose upstream response this is."""
    expires_at: float
    """Unix time after which the entry is gone."""
    user_id: str | None = None
    """``Helicone-User-Id`` of the source request, so deleting a user's data finds it."""
    prompt: str | None = None
    """The last user turn a semantic match compared, so a candidate can be verified
    against the new request's before it is served; None for exact-only entries."""

    @property
    def size(self) -> int:
        """Bytes it costs to keep, roughly: body, headers and bookkeeping."""
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200

    def dumps(self) -> bytes:
        meta = orjson.dumps(
            {
                "status": self.status,
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in self.headers],
                "stream": self.stream,
                "source_id": self.source_id,
                "expires_at": self.expires_at,
                "user_id": self.user_id,
                "prompt": self.prompt,
            }
        )
        return _HEADER_LEN.pack(len(meta)) + meta + self.body

    @classmethod
    def loads(cls, raw: bytes) -> CacheEntry:
        (length,) = _HEADER_LEN.unpack_from(raw)
        start = _HEADER_LEN.size
        meta = orjson.loads(raw[start : start + length])
        return cls(
            status=meta["status"],
            headers=tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in meta["headers"]),
            body=raw[start + length :],
            stream=meta["stream"],
            source_id=meta["source_id"],
            expires_at=meta["expires_at"],
            user_id=meta.get("user_id"),  # absent from entries stored by older versions
            prompt=meta.get("prompt"),
        )
