"""The gateway process: builds every part from ``Settings`` and serves them as one ASGI app.

/healthz               liveness: 200 while the process serves
/readyz                readiness: 503 while starting, draining (after SIGTERM), or while
                       the log writer is restarting or stalled (with the reason)
/metrics               Prometheus metrics
/api/...               JSON API (Starlette)
/, /dashboard/...      web dashboard (Starlette + Jinja2)
everything else        the proxy (raw ASGI, the hot path)
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

import aiohttp
import orjson
from genai_prices import data_snapshot
from redis.asyncio import Redis

from relayscope import metrics
from relayscope.alerts import api as alerts_api
from relayscope.alerts.service import AlertsService
from relayscope.analytics import routes as analytics_routes
from relayscope.api import create_api
from relayscope.auth.keys import KeyResolver
from relayscope.auth.watch import KeyWatch
from relayscope.cache import api as cache_api
from relayscope.cache.build import create_cache_eraser
from relayscope.cache.stage import CacheStage
from relayscope.config import Settings
from relayscope.dashboard import create_dashboard
from relayscope.governance import api as governance_api
from relayscope.governance.repository import GovernanceRepository
from relayscope.governance.service import Governance
from relayscope.logs import api as logs_api
from relayscope.logs.deadletters import DeadLetters, dead_letter_dir
from relayscope.logs.journal import Journal
from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter, Observer
from relayscope.pipeline import Services, build, default_stages
from relayscope.prompts import api as prompts_api
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.repository import PromptRepository
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.app import Limits, ProxyApp, Receive, Scope, Send
from relayscope.proxy.body import BodyLimits
from relayscope.proxy.request_ids import RequestIds
from relayscope.proxy.routing import Allowlist, Router
from relayscope.proxy.upstream import Upstream, make_session
from relayscope.ratelimit import api as rate_limits_api
from relayscope.retry import api as provider_keys_api
from relayscope.retry.crypto import SecretBox
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.scores import api as scores_api
from relayscope.store.base import LogStore
from relayscope.store.logs import open_log_store
from relayscope.store.sql import SqlStore, open_store
from relayscope.webhooks import api as webhooks_api

log = logging.getLogger("relayscope")


class Gateway:
    """Everything one gateway process runs. ``start``/``stop`` bracket its life."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_session: aiohttp.ClientSession | None = None,
        store: SqlStore | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or open_store(settings.store_url, pool_size=settings.database_pool_size)
        self.logs: LogStore = open_log_store(settings.logs_url) if settings.logs_url else self.store
        self.tracer = None
        observers: list[Observer] = [metrics.observe_record]
        if settings.otel.enabled:
            from relayscope.tracing.spans import otlp_recorder

            self.tracer = otlp_recorder(settings.otel)
            observers.append(self.tracer)
        self.journal = (
            Journal(settings.journal_dir, fsync_interval=settings.journal_fsync_interval)
            if settings.journal_enabled
            else None
        )
        self.writer = LogWriter(
            self.logs,
            Spool(settings.spool_dir),
            batch_size=settings.log_batch_size,
            flush_interval=settings.log_flush_interval,
            write_timeout=settings.store_write_timeout,
            max_queued=settings.log_queue_max,
            observers=observers,
            dead_letters=DeadLetters(dead_letter_dir(settings.data_dir)),
            journal=self.journal,
        )
        self.registry = ProviderRegistry(overrides=settings.provider_base_urls)
        self.keys = KeyResolver(self.store.lookup_key, ttl=settings.key_cache_ttl)
        self.key_watch = KeyWatch(self.store, self.keys, interval=settings.key_poll_interval)
        self._http_session = http_session
        self.upstream = Upstream()
        self.redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        self.governance = Governance(GovernanceRepository(self.store.engine), settings.governance)
        self.provider_keys = ProviderKeys(
            self.store.engine,
            SecretBox(settings.secret_key, settings.data_dir),
            ttl=settings.retry.provider_key_ttl,
        )
        self.prompts = PromptCatalog(
            PromptRepository(self.store.engine),
            ttl=settings.prompts.cache_ttl,
            max_entries=settings.prompts.cache_max_entries,
        )
        services = Services(
            store=self.store,
            writer=self.writer,
            redis=self.redis,
            redaction=self.governance.rules,
            provider_keys=self.provider_keys,
            prompts=self.prompts,
        )
        self.stages = default_stages(settings, services)
        self.governance.on_delete_user(
            "cache_entries",
            create_cache_eraser(
                settings.cache,
                stage=next((s for s in self.stages if isinstance(s, CacheStage)), None),
                engine=self.store.engine,
                redis=self.redis,
                redis_prefix=settings.redis_prefix,
            ).delete_user,
        )
        self.alerts = AlertsService(settings.alerts, self.store.engine, self.writer)
        self.proxy = ProxyApp(
            router=Router(self.registry, Allowlist(settings.target_allowlist)),
            keys=self.keys,
            pipeline=build(self.stages, self.upstream),
            limits=Limits(
                max_body_bytes=settings.max_body_bytes,
                max_headers=settings.max_headers,
                max_header_bytes=settings.max_header_bytes,
                max_concurrency=settings.max_concurrency,
                client_body_timeout=settings.client_body_timeout,
            ),
            request_ids=RequestIds(
                strict=settings.strict_headers, remembered=settings.request_ids_remembered
            ),
            strict_headers=settings.strict_headers,
        )
        self.api = create_api(
            store=self.store,
            keys=self.keys,
            logs=self.logs,
            routes=[
                *governance_api.routes,
                *provider_keys_api.routes,
                *cache_api.routes,
                *prompts_api.routes(),
                *alerts_api.routes,
                *webhooks_api.routes,
                *rate_limits_api.routes,
                *analytics_routes.routes,
                *logs_api.routes,
                *scores_api.routes,
            ],
            body_limits=self._api_body_limits(),
            state={
                "governance": self.governance,
                "provider_keys": self.provider_keys,
                "cache_stats": services.cache_stats,
                "prompts": self.prompts,
                "alerts": self.alerts,
                "dead_letters": self.writer.dead_letters,
                "writer": self.writer,
            },
        )
        self.dashboard = create_dashboard(
            store=self.store, api=self.api, body_limits=self._api_body_limits()
        )
        self.ready = False
        self.draining = False

    def _api_body_limits(self) -> BodyLimits:
        return BodyLimits(
            max_bytes=self.settings.api_max_body_bytes,
            timeout=self.settings.client_body_timeout,
        )

    async def start(self) -> None:
        await self.store.migrate()
        if self.logs is not self.store:
            await self.logs.migrate()
        timeouts = (self.settings.upstream_connect_timeout, self.settings.upstream_read_timeout)
        self.upstream.session = self._http_session or make_session(*timeouts)
        if not self.settings.target_allow_private_networks:
            self.upstream.guarded_session = make_session(*timeouts, guarded=True)
        if self.journal is not None:
            self.journal.open()  # before the logging stage's start replays dead journals
        for stage in self.stages:
            start = getattr(stage, "start", None)
            if start is not None:
                await start()
        self.writer.start()
        self.key_watch.start()
        await self.governance.start()
        self.alerts.start()
        self._drain_on_sigterm()
        settle_heap()
        self.ready = True
        log.info("gateway ready (pid %s, store %s)", os.getpid(), self.store.dialect)

    async def stop(self) -> None:
        self.ready = False
        await self.key_watch.stop()
        await self.governance.stop()
        for stage in self.stages:
            aclose = getattr(stage, "aclose", None)
            if aclose is not None:
                await aclose()
        await self.writer.close()
        if self.journal is not None:
            await asyncio.to_thread(self.journal.close)
        await self.alerts.stop()
        if self.tracer is not None:
            await asyncio.to_thread(self.tracer.shutdown)
        await self.upstream.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.logs is not self.store:
            await self.logs.close()
        await self.store.close()

    def _drain_on_sigterm(self) -> None:
        """On SIGTERM, answer /readyz with 503 at once, and let the server begin its
        graceful shutdown ``shutdown_drain_seconds`` later (load balancers look first).

        Wraps the handler uvicorn installed for the life of the server (each worker
        runs this in its own main thread); a second SIGTERM stops at once.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        server_handler = signal.getsignal(signal.SIGTERM)
        if not callable(server_handler):
            return
        delay = self.settings.shutdown_drain_seconds

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            if self.draining or delay <= 0:
                self.draining = True
                server_handler(sig, frame)
                return
            self.draining = True
            log.info("SIGTERM: draining for %.1fs before shutting down", delay)
            loop.call_soon_threadsafe(loop.call_later, delay, server_handler, sig, None)

        signal.signal(signal.SIGTERM, on_sigterm)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(("/api/", scores_api.HELICONE_PREFIX)):
                await self.api(scope, receive, send)
            elif path == "/healthz":
                await _json(send, 200, {"status": "ok"})
            elif path == "/readyz":
                await self._readiness(send)
            elif path == "/metrics" and self.settings.metrics_enabled:
                await self._metrics(send)
            elif path.startswith("/dashboard") or path == "/":
                await self.dashboard(scope, receive, send)
            else:
                await self.proxy(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _readiness(self, send: Send) -> None:
        ready = self.ready and not self.draining
        status = "ready" if ready else "draining" if self.draining else "starting"
        problem = self.writer.problem() if ready else None
        if problem is not None:
            payload = {"status": "log_writer_failing", "reason": problem, "pid": os.getpid()}
            await _json(send, 503, payload)
            return
        await _json(send, 200 if ready else 503, {"status": status, "pid": os.getpid()})

    async def _metrics(self, send: Send) -> None:
        metrics.LOG_QUEUE_DEPTH.set(self.writer.queue_depth)
        metrics.DEAD_LETTERS.set(self.writer.dead_letter_count)
        metrics.LOG_LAST_STORED_SECONDS.set(time.monotonic() - self.writer.stats.last_stored_at)
        body = await asyncio.to_thread(metrics.render)
        headers = [
            (b"content-type", metrics.CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _json(send: Send, status: int, payload: object) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def settle_heap() -> None:
    """Keep the garbage collector's pauses short once the gateway serves.

    Everything built at start-up lives as long as the process, yet a full collection
    walks it all: with the pricing data and the SQL metadata that took 100+ ms, the
    gateway's worst-case latency. Frozen objects are never walked again. Requests
    free almost everything by reference counting, so young collections can be rarer.
    """
    data_snapshot.get_snapshot()  # loaded lazily otherwise, by the first priced record
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
    sys.setswitchinterval(0.0005)


_GC_THRESHOLDS = (20_000, 20, 20)


def create_app() -> Gateway:
    """Factory for ``uvicorn --factory``: a gateway configured from the environment."""
    return Gateway(Settings.from_env())
