"""Outbound HTTP for alert channels and request webhooks: target checks, HMAC signing,
and POSTs retried with exponential backoff.

Receivers verify ``X-RelayScope-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw
request body under the shared secret. The body carries its own ``timestamp`` (also in
``X-RelayScope-Timestamp``) so receivers can refuse replays; ``X-RelayScope-Delivery``
stays the same across retries of one delivery so they can drop duplicates.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "X-RelayScope-Signature"
TIMESTAMP_HEADER = "X-RelayScope-Timestamp"
DELIVERY_HEADER = "X-RelayScope-Delivery"
EVENT_HEADER = "X-RelayScope-Event"
MAX_BACKOFF = 60.0


class TargetRefused(ValueError):
    """A URL the gateway will not send to."""


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
        }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_url(url: str, *, allow_private: bool) -> str:
    """``url`` if it is an http(s) URL the gateway may call; TargetRefused otherwise.

    Host names are checked again, resolved, before every delivery (``check_resolved``).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise TargetRefused("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if len(url) > 2048:
        raise TargetRefused("must be at most 2048 characters")
    if not allow_private:
        host = parts.hostname.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            raise TargetRefused(_PRIVATE)
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return url
        if _is_private(address):
            raise TargetRefused(_PRIVATE)
    return url


async def check_resolved(url: str, *, allow_private: bool) -> None:
    """TargetRefused when ``url``'s host resolves to a loopback/private/link-local address."""
    check_url(url, allow_private=allow_private)
    if allow_private:
        return
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        return  # unresolvable: the POST itself fails and is retried
    for info in infos:
        if _is_private(ipaddress.ip_address(str(info[4][0]).split("%")[0])):
            raise TargetRefused(_PRIVATE)


_PRIVATE = (
    "points at a loopback, private or link-local address "
    "(set RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS=true to allow it)"
)


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Not global: loopback, RFC 1918, link-local, unique-local, CGNAT, documentation...
    return not address.is_global or address.is_multicast


class _RedactInFlight(logging.Filter):
    """httpx logs every request URL at INFO; outbound URLs may be credentials (Slack's
    are), so the ones being posted are masked in those records."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            record.args = tuple("********" if str(arg) in self.urls else arg for arg in record.args)
        return True


_redact = _RedactInFlight()
logging.getLogger("httpx").addFilter(_redact)

Sleep = Callable[[float], Awaitable[None]]


class Poster:
    """POSTs bodies with retries; one per process, sharing a connection pool."""

    def __init__(
        self,
        *,
        timeout: float,
        attempts: int,
        backoff: float,
        allow_private: bool,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.allow_private = allow_private
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        event: str,
        timestamp: int,
        secret: str | None = None,
        attempts: int | None = None,
    ) -> Delivery:
        """POST ``body`` (JSON) until a 2xx, a final 4xx, or the attempts run out."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "RelayScope-Webhook/1",
            EVENT_HEADER: event,
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: str(uuid.uuid4()),
        }
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        return await retrying(
            lambda: self._post_once(url, body, headers),
            attempts=attempts or self.attempts,
            backoff=self.backoff,
            sleep=self._sleep,
        )

    async def _post_once(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:
            await check_resolved(url, allow_private=self.allow_private)
        except TargetRefused as exc:
            return Attempt(False, retry=False, error=f"target refused: {exc}")
        logged = str(httpx.URL(url))
        _redact.urls[logged] = _redact.urls.get(logged, 0) + 1
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Attempt(False, retry=True, error=describe(exc, url))
        finally:
            _redact.urls[logged] -= 1
            if not _redact.urls[logged]:
                del _redact.urls[logged]
        status = response.status_code
        if 200 <= status < 300:
            return Attempt(True, status=status)
        retry = status >= 500 or status in (408, 429)
        return Attempt(False, retry=retry, status=status, error=f"receiver answered HTTP {status}")


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    retry: bool = False
    status: int | None = None
    error: str | None = None


async def retrying(
    once: Callable[[], Awaitable[Attempt]], *, attempts: int, backoff: float, sleep: Sleep
) -> Delivery:
    """Run ``once`` until it succeeds or says not to retry, waiting backoff, 2x, 4x... between."""
    attempt = Attempt(False, error="not attempted")
    for number in range(1, attempts + 1):
        attempt = await once()
        if attempt.ok or not attempt.retry or number == attempts:
            return Delivery(attempt.ok, number, attempt.status, attempt.error)
        await sleep(min(backoff * 2 ** (number - 1), MAX_BACKOFF))
    return Delivery(attempt.ok, attempts, attempt.status, attempt.error)


def describe(exc: BaseException, *secrets: str) -> str:
    """An error message without the URL or secrets that some exceptions quote."""
    message = f"{exc.__class__.__name__}: {exc}".rstrip(": ")
    for secret in secrets:
        if secret:
            message = message.replace(secret, "********")
    return message


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` (the ``X-RelayScope-Signature`` value) signs ``body``."""
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature or "")
