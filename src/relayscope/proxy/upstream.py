"""The terminal stage: send the request to the provider and hand back its response.

The client is aiohttp's: measured in bench/, httpx's async stack cost the gateway
more than everything else on the hot path put together.
"""

from __future__ import annotations

import functools
import io

import aiohttp
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


class Upstream:
    """Sends a context's request over an ``aiohttp.ClientSession``.

    The session is injected when the gateway starts (it must be made inside the
    running event loop); tests may pass their own.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        guarded_session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.session = session
        self.guarded_session = guarded_session
        """For every origin the operator did not configure (client-named targets and the
        built-in public providers): refuses hosts that resolve to internal addresses."""

    async def close(self) -> None:
        for session in (self.session, self.guarded_session):
            if session is not None:
                await session.close()

    async def __call__(self, ctx: Context) -> ProxyResponse:
        url = ctx.target.url
        if ctx.query:
            url = f"{url}?{ctx.query.decode('latin-1')}"
        name = ctx.target.provider_name
        guarded = self.guarded_session if not ctx.target.operator_origin else None
        session = guarded or self.session
        assert session is not None, "the gateway has not started"
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


def make_session(
    connect_timeout: float, read_timeout: float, *, guarded: bool = False
) -> aiohttp.ClientSession:
    """A session tuned for proxying: no cookies, no redirects, no environment proxies.

    ``guarded`` sessions resolve names through ``GuardedResolver`` and cache nothing,
    so every connection is checked against internal addresses.
    """
    if guarded:
        connector = aiohttp.TCPConnector(
            limit=1000, resolver=GuardedResolver(), use_dns_cache=False
        )
    else:
        connector = aiohttp.TCPConnector(limit=1000, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Content-Type"),
        auto_decompress=True,
        trust_env=False,
    )
