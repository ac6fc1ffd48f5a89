"""The cache stage: answers hits without the provider, stores complete 2xx responses.

It sits inside ``StreamUsageStage``, directly around the upstream call (and its
retries), so what it keeps is the upstream's raw response, usage chunk included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator

from relayscope.cache.backend import Backend, CacheUnavailable, Found, Vector
from relayscope.cache.embedding import Embedder
from relayscope.cache.entry import CacheEntry
from relayscope.cache.keys import exact_key, last_user_text, semantic_partition
from relayscope.cache.options import CacheOptions, read_request
from relayscope.cache.outcome import CacheOutcome
from relayscope.cache.settings import CacheSettings
from relayscope.cache.stats import CacheStats
from relayscope.cache.verify import same_question
from relayscope.context import Context, ProxyResponse
from relayscope.types import CallNext, Stage

log = logging.getLogger("relayscope.cache")

_MISS = [(b"helicone-cache", b"MISS"), (b"helicone-cache-hit", b"false")]
SEMANTIC_HEADER = b"helicone-cache-semantic"
UNAVAILABLE = "unavailable"
MAX_SEMANTIC_CHARS = 1000
"""Longer last user turns are matched exactly only (the verification step reads a
prompt whole; 20 kB would take ~35 ms of the event loop; the model reads ~500 characters)."""


class CacheStage(Stage):
    def __init__(
        self,
        settings: CacheSettings,
        backend: Backend,
        *,
        stats: CacheStats,
        embedder: Embedder | None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.stats = stats
        self.embedder = embedder
        self._max_entry = min(settings.max_entry_bytes, settings.max_bytes)
        self._warned_no_semantic = False

    async def start(self) -> None:
        await self.backend.start()
        if self.embedder is not None:
            if self.settings.semantic_preload:
                await self.embedder.load()
            else:
                self.embedder.prepare()

    async def aclose(self) -> None:
        await self.backend.close()
        if self.embedder is not None:
            self.embedder.close()

    def applies(self, ctx: Context) -> bool:
        return "helicone-cache-enabled" in ctx.helicone

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        options, warnings = read_request(
            ctx.helicone, _header(ctx, b"cache-control"), self.settings
        )
        for header, problem in warnings:
            ctx.warn(header, problem)
        if options is None:
            return await call_next(ctx)
        key = exact_key(ctx, options)
        vector = None
        try:
            found = await self.backend.lookup(key, options.bucket_size)
            if found is not None:
                return self._hit(ctx, found, None)
            vector = await self._vector(ctx, options)
            if vector is not None:
                text = vector.text or ""

                def verified(entry: CacheEntry) -> bool:
                    return entry.prompt is not None and same_question(text, entry.prompt)

                match = await self.backend.nearest(vector, options.similarity, verified)
                if match is not None:
                    return self._hit(ctx, *match)
            bypassed = False
        except CacheUnavailable:
            self.stats.org(ctx.org_id).backend_errors += 1
            bypassed = True
        else:
            self.stats.org(ctx.org_id).misses += 1
        ctx.cache = CacheOutcome(hit=False)
        ctx.response_headers.extend(_MISS)
        ctx.upstream_body.keep_whole(self._max_entry)
        response = await call_next(ctx)
        if bypassed or options.ttl <= 0 or not 200 <= response.status < 300:
            return response
        headers = tuple(response.headers)
        if response.stream is None:
            if ctx.error is None:
                await self._store(ctx, key, options, vector, response.status, headers, False)
            return response
        status = response.status

        async def store_if_complete() -> None:
            # Never a partial stream: one the client left, or the upstream broke off.
            if ctx.error is None and not ctx.cancelled:
                await self._store(ctx, key, options, vector, status, headers, True)

        ctx.on_stream_end(store_if_complete)
        return response

    def _hit(self, ctx: Context, found: Found, similarity: float | None) -> ProxyResponse:
        entry = found.entry
        stats = self.stats.org(ctx.org_id)
        stats.hits += 1
        if similarity is not None:
            stats.semantic_hits += 1
            similarity = round(min(similarity, 1.0), 4)
        ctx.cache = CacheOutcome(hit=True, source_id=entry.source_id, similarity=similarity)
        ctx.upstream_body.replace(entry.body)
        ctx.upstream_stream = entry.stream
        ctx.response_headers.extend(
            [
                (b"helicone-cache", b"HIT"),
                (b"helicone-cache-hit", b"true"),
                (b"helicone-cache-bucket-idx", str(found.idx).encode()),
            ]
        )
        if similarity is not None:
            ctx.response_headers.append(
                (b"helicone-cache-similarity", f"{similarity:.4f}".encode())
            )
        if entry.stream:
            return ProxyResponse(entry.status, list(entry.headers), stream=_replay(entry.body))
        return ProxyResponse(entry.status, list(entry.headers), body=entry.body)

    async def _vector(self, ctx: Context, options: CacheOptions) -> Vector | None:
        """The request's place for semantic matching: its partition (everything but the
        last user turn, exactly) and that turn's embedding. None when semantic matching
        is not asked for or does not apply; when it cannot run, the response and the log
        record say so."""
        if not options.semantic:
            return None
        partition = semantic_partition(ctx, options)
        text = last_user_text(ctx)
        if partition is None or len(text) > MAX_SEMANTIC_CHARS:
            # No last user turn made of text, or one too long to verify on the event
            # loop (and to embed past its first 128 word pieces): the exact cache only.
            return None
        values = None
        if self.embedder is not None:
            values = await self.embedder.embed(text)
        if values is None:
            self._unavailable(ctx)
            return None
        return Vector(partition, values, text)

    def _unavailable(self, ctx: Context) -> None:
        ctx.response_headers.append((SEMANTIC_HEADER, UNAVAILABLE.encode()))
        ctx.warn("Helicone-Cache-Semantic", "semantic matching is unavailable, exact cache used")
        if not self._warned_no_semantic:
            self._warned_no_semantic = True
            log.warning(
                "Helicone-Cache-Semantic requested but semantic matching cannot run "
                "(RELAYSCOPE_CACHE_SEMANTIC is off, or the embedding model is missing or "
                "failed to load); using the exact cache"
            )

    async def _store(
        self,
        ctx: Context,
        key: str,
        options: CacheOptions,
        vector: Vector | None,
        status: int,
        headers: tuple[tuple[bytes, bytes], ...],
        stream: bool,
    ) -> None:
        body = ctx.upstream_body.whole()
        if body is None:
            return  # larger than an entry may be: served, not cached
        entry = CacheEntry(
            status=status,
            headers=headers,
            body=body,
            stream=stream,
            source_id=ctx.request_id,
            expires_at=time.time() + options.ttl,
            user_id=ctx.tags.user_id,
            prompt=vector.text if vector is not None else None,
        )
        if entry.size > self._max_entry:
            return
        try:
            idx = await self.backend.store(key, options.bucket_size, entry, vector)
        except CacheUnavailable:
            self.stats.org(ctx.org_id).backend_errors += 1
            return
        if idx is not None:
            self.stats.org(ctx.org_id).stores += 1


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


def _header(ctx: Context, name: bytes) -> bytes | None:
    for key, value in ctx.headers:
        if key == name:
            return value
    return None
