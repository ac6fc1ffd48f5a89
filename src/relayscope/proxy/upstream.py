"""The terminal stage: send the request to the provider and hand back its response.

The client is aiohttp's: measured in bench/, httpx's async stack cost the gateway
more than everything else on the hot path put together.
"""

from __future__ import annotations

import functools
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from relayscope.capture import BodyCapture
from relayscope.context import Context, ProxyResponse
from relayscope.errors import InvalidHeader, UpstreamError, UpstreamTimeout
from relayscope.proxy.ssrf import BlockedAddress, GuardedResolver

# Not forwarded to the client: hop-by-hop, or describing bytes we re-frame.
_DROP_RESPONSE_HEADERS = frozenset(
    {
        b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
        b"proxy-authenticate", b"content-length", b"content-encoding",
        # The server sends its own Date on every response; a second one would be a
        # repeated singleton header that clients read differently.
        b"date",
    }
)  # fmt: skip
_LARGE_BODY = 1024 * 1024
"""aiohttp's own threshold for a "large" request body."""


class Transport(Protocol):
    """How the upstream reaches providers: the connectors its aiohttp sessions send through.

    The gateway's sessions (timeouts, no cookies, no redirects, no environment proxies)
    are the same whatever the transport; only the connection layer is swapped, as an
    httpx transport is under an ``httpx.AsyncClient``. Called inside the running loop.
    """

    def connector(self, *, guarded: bool, limit: int) -> aiohttp.BaseConnector:
        """A new connector, holding at most ``limit`` connections (0: no limit). A
        ``guarded`` one refuses hosts that resolve to internal addresses (the SSRF
        guard, ``proxy/ssrf.py``) if the transport resolves names."""
        ...


@dataclass(frozen=True, slots=True)
class TcpTransport:
    """TCP (and TLS) to the provider's host: the gateway's default transport.

    ``resolver`` replaces DNS (tests point every name at a loopback listener; guarded
    connectors still check what it returns); ``verify_tls=False`` accepts any
    certificate, for a test listener's.
    """

    resolver: AbstractResolver | None = None
    verify_tls: bool = True

    def connector(self, *, guarded: bool, limit: int) -> aiohttp.BaseConnector:
        ssl = self.verify_tls
        # No per-host cap: one provider host may well carry every stream.
        if guarded:  # resolves every connection afresh, so each one is checked
            resolver = GuardedResolver(self.resolver)
            return aiohttp.TCPConnector(
                limit=limit, limit_per_host=0, resolver=resolver, use_dns_cache=False, ssl=ssl
            )
        if self.resolver is not None:
            return aiohttp.TCPConnector(
                limit=limit, limit_per_host=0, resolver=self.resolver, use_dns_cache=False, ssl=ssl
            )
        return aiohttp.TCPConnector(limit=limit, limit_per_host=0, ttl_dns_cache=300, ssl=ssl)


class Upstream:
    """Sends a context's request over an ``aiohttp.ClientSession``.

    Made, with its sessions, by ``open_upstream`` inside the running event loop.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        guarded_session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.session = session
        self.guarded_session = guarded_session
        """For every origin the operator did not configure (client-named targets and the
        built-in public providers): refuses hosts that resolve to internal addresses."""

    async def __call__(self, ctx: Context) -> ProxyResponse:
        url = ctx.target.url
        if ctx.query:
            url = f"{url}?{ctx.query.decode('latin-1')}"
        name = ctx.target.provider_name
        guarded = self.guarded_session if not ctx.target.operator_origin else None
        session = guarded or self.session
        try:
            response = await session.request(
                ctx.method,
                _parsed(url),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in ctx.headers],
                data=_payload(ctx.body),
                allow_redirects=False,
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"Timed out waiting for {name} (connect or first byte)") from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddress):
                raise InvalidHeader("Helicone-Target-Url", str(exc.os_error)) from exc
            raise UpstreamError(f"Could not reach {name}: {exc.__class__.__name__}") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"Could not reach {name}: {exc.__class__.__name__}") from exc

        headers = [
            (key, value)
            for key, value in response.raw_headers
            if key.lower() not in _DROP_RESPONSE_HEADERS
        ]
        ctx.upstream_body.reset()
        if response.content_type == "text/event-stream":
            ctx.upstream_stream = True
            return ProxyResponse(response.status, headers, stream=UpstreamStream(ctx, response))
        try:
            body = await response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout(f"Timed out reading the response from {name}") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"Connection to {name} broke mid-response: {exc.__class__.__name__}"
            ) from exc
        finally:
            response.release()
        ctx.upstream_stream = False
        ctx.upstream_body.add(body)
        return ProxyResponse(response.status, headers, body=body)


@functools.lru_cache(maxsize=4096)  # requests go to few URLs: each is parsed once
def _parsed(url: str) -> URL:
    return URL(url, encoded=True)


def _payload(body: bytes) -> bytes | io.BytesIO | None:
    # aiohttp writes a large bytes body in one go (and warns); from a file-like object
    # it writes it in chunks, yielding to the event loop in between.
    if len(body) > _LARGE_BODY:
        return io.BytesIO(body)
    return body or None


class UpstreamStream:
    """The provider's streamed body, chunk by chunk as it arrives, each chunk captured
    for the log and the cache (``ctx.upstream_body``) on its way.

    An iterator object rather than an async generator: ``peek`` lets the retry stage
    read the first chunk ahead without stacking another layer, so a chunk passes
    through nothing else between the socket and the client.
    """

    __slots__ = ("_capture", "_ctx", "_first", "_response")

    def __init__(self, ctx: Context, response: aiohttp.ClientResponse) -> None:
        self._ctx = ctx
        self._capture: BodyCapture = ctx.upstream_body
        self._response = response
        self._first: bytes | None = None

    def __aiter__(self) -> UpstreamStream:
        return self

    async def __anext__(self) -> bytes:
        first = self._first
        if first is not None:
            self._first = None
            return first
        try:
            chunk = await self._response.content.readany()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._ctx.error = f"upstream stream broke: {exc.__class__.__name__}: {exc}"
            self._response.close()
            raise
        if not chunk:
            self._response.close()
            raise StopAsyncIteration
        self._capture.add(chunk)
        return chunk

    async def peek(self) -> bool:
        """Read the first chunk ahead (the next ``__anext__`` returns it); False when
        the stream is already over. Raises what reading raises, the stream closed."""
        try:
            self._first = await self.__anext__()
        except StopAsyncIteration:
            return False
        except BaseException:
            self._response.close()
            raise
        return True

    async def aclose(self) -> None:
        self._response.close()


@asynccontextmanager
async def open_upstream(
    transport: Transport,
    *,
    connect_timeout: float,
    read_timeout: float,
    guard: bool,
    max_connections: int = 10_000,
) -> AsyncIterator[Upstream]:
    """The upstream over ``transport``, its sessions closed on exit.

    With ``guard``, origins the operator did not configure go through a guarded
    session (``RELAYSCOPE_TARGET_ALLOW_PRIVATE_NETWORKS`` off). Each session holds
    at most ``max_connections`` connections (0: no limit); a request beyond waits
    for one (its connect timeout running).
    """
    async with AsyncExitStack() as stack:
        timeouts = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        session = await stack.enter_async_context(
            _session(transport.connector(guarded=False, limit=max_connections), timeouts)
        )
        guarded = None
        if guard:
            guarded = await stack.enter_async_context(
                _session(transport.connector(guarded=True, limit=max_connections), timeouts)
            )
        yield Upstream(session, guarded)


def _session(
    connector: aiohttp.BaseConnector, timeout: aiohttp.ClientTimeout
) -> aiohttp.ClientSession:
    """A session tuned for proxying: no cookies, no redirects, no environment proxies."""
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Content-Type"),
        auto_decompress=True,
        trust_env=False,
    )
