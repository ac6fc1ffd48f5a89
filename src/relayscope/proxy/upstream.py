"""The terminal stage: send the request to the provider and hand back its response."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from relayscope.context import Context, ProxyResponse
from relayscope.errors import UpstreamError, UpstreamTimeout

# Not forwarded to the client: hop-by-hop, or describing bytes we re-frame.
_DROP_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
        b"content-length",
        b"content-encoding",
    }
)


class Upstream:
    """Sends a context's request over an injected ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def __call__(self, ctx: Context) -> ProxyResponse:
        url = ctx.target.url
        if ctx.query:
            url = f"{url}?{ctx.query.decode('latin-1')}"
        request = self._client.build_request(
            ctx.method, url, headers=ctx.headers, content=ctx.body or None
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"Timed out waiting for {ctx.target.provider_name} ({_kind(exc)})"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"Could not reach {ctx.target.provider_name}: {exc.__class__.__name__}"
            ) from exc

        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() not in _DROP_RESPONSE_HEADERS
        ]
        ctx.upstream_chunks.clear()
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("text/event-stream"):
            ctx.upstream_stream = True
            return ProxyResponse(response.status_code, headers, stream=_relay(ctx, response))
        try:
            body = await response.aread()
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"Timed out reading from {ctx.target.provider_name} ({_kind(exc)})"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"Connection to {ctx.target.provider_name} broke: {exc.__class__.__name__}"
            ) from exc
        finally:
            await response.aclose()
        ctx.upstream_stream = False
        ctx.upstream_chunks.append(body)
        return ProxyResponse(response.status_code, headers, body=body)


async def _relay(ctx: Context, response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes():
            ctx.upstream_chunks.append(chunk)
            yield chunk
    except httpx.HTTPError as exc:
        ctx.error = f"upstream stream broke: {exc.__class__.__name__}: {exc}"
        raise
    finally:
        await response.aclose()


def _kind(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.PoolTimeout: "connection pool",
        httpx.WriteTimeout: "write",
    }.get(type(exc), "total")


def make_client(connect_timeout: float, read_timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
        follow_redirects=False,
        trust_env=False,
    )
