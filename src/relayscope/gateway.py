"""The composition root: ``build_gateway`` makes every part from ``Settings`` and starts it.

Each part with a life is an async context manager entered on one ``AsyncExitStack``,
in dependency order, so the order is declared once: leaving the block stops them in
reverse, and a part that fails to start stops the ones already started. Nothing here
touches the process (garbage collector, signals): that is ``relayscope.server``'s,
for the served gateway only, so a test builds as many gateways in-process as it likes.

/healthz               liveness: 200 while the gateway serves
/readyz                readiness: 503 while draining (after SIGTERM), or while the log
                       writer is restarting or stalled (with the reason)
/metrics               Prometheus metrics
/api/...               JSON API (Starlette)
/custom/v1/log, /v1/traces
                       logging without the proxy (``ingest.api``: an application's own
                       logs, OpenTelemetry traces), within the proxy's body limit
/, /dashboard/...      web dashboard (Starlette + Jinja2), and its /favicon.ico
everything else        the proxy (raw ASGI, the hot path)
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import orjson
from redis.asyncio import Redis
from starlette.applications import Starlette

from relayscope import metrics
from relayscope.alerts import api as alerts_api
from relayscope.alerts.service import AlertsService
from relayscope.analytics import routes as analytics_routes
from relayscope.api import ApiServices, create_api
from relayscope.audit import api as audit_api
from relayscope.auth.keys import KeyResolver
from relayscope.auth.watch import KeyWatch
from relayscope.budgets import api as budgets_api
from relayscope.budgets.stage import BudgetStage
from relayscope.cache import api as cache_api
from relayscope.cache.build import create_cache_eraser
from relayscope.cache.stage import CacheStage
from relayscope.config import Settings
from relayscope.dashboard import create_dashboard
from relayscope.datasets import api as datasets_api
from relayscope.datasets.repository import DatasetRepository
from relayscope.evaluators import api as evaluators_api
from relayscope.evaluators.gateway_judge import GatewayJudge
from relayscope.evaluators.service import Evaluators
from relayscope.experiments import api as experiments_api
from relayscope.experiments.repository import ExperimentRepository
from relayscope.experiments.runner import ExperimentRunner
from relayscope.governance import api as governance_api
from relayscope.governance.repository import GovernanceRepository
from relayscope.governance.service import Governance
from relayscope.ingest import api as ingest_api
from relayscope.ingest.otlp_errors import OtlpErrors
from relayscope.logs import api as logs_api
from relayscope.logs.deadletters import DeadLetters, dead_letter_dir
from relayscope.logs.journal import Journal
from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter, Observer
from relayscope.pipeline import STAGES, Services, StageBuilder, build, default_stages
from relayscope.prompts import api as prompts_api
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.repository import PromptRepository
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.app import Limits, ProxyApp, Receive, Scope, Send
from relayscope.proxy.body import BodyLimits
from relayscope.proxy.request_ids import RequestIds
from relayscope.proxy.routing import Allowlist, Router
from relayscope.proxy.upstream import TcpTransport, Transport, Upstream, open_upstream
from relayscope.ratelimit import api as rate_limits_api
from relayscope.retry import api as provider_keys_api
from relayscope.retry.crypto import SecretBox
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.scores import api as scores_api
from relayscope.store.base import LogStore
from relayscope.store.logs import open_log_store
from relayscope.store.sql import SqlStore, open_store
from relayscope.types import CallNext, Stage
from relayscope.virtualkeys import api as virtual_keys_api
from relayscope.virtualkeys.repository import VirtualKeys
from relayscope.webhooks import api as webhooks_api

log = logging.getLogger("relayscope.gateway")


@dataclass(eq=False)
class Gateway:
    """A started gateway: one ASGI app over the parts ``build_gateway`` made."""

    settings: Settings
    store: SqlStore
    logs: LogStore
    """Where request records live: the store, or ClickHouse (``RELAYSCOPE_LOGS_URL``)."""
    writer: LogWriter
    keys: KeyResolver
    governance: Governance
    provider_keys: ProviderKeys
    prompts: PromptCatalog
    alerts: AlertsService
    evaluators: Evaluators
    """An org's evaluators: ``evaluators.evaluate_requests`` scores chosen requests."""
    upstream: Upstream
    stages: Sequence[Stage]
    proxy: ProxyApp
    api: Starlette
    dashboard: Starlette
    ingest: OtlpErrors
    """The logging routes (``ingest.api``), their OTLP errors as ``Status`` bodies."""
    draining: bool = False
    """Set when the process was asked to stop: /readyz turns 503 while requests still
    succeed, so load balancers look elsewhere first (``relayscope.server``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(("/api/", scores_api.HELICONE_PREFIX)):
            await self.api(scope, receive, send)
        elif path in ingest_api.PATHS:
            await self.ingest(scope, receive, send)
        elif path == "/healthz":
            await json_reply(send, 200, {"status": "ok"})
        elif path == "/readyz":
            await self._readiness(send)
        elif path == "/metrics" and self.settings.metrics_enabled:
            await self._metrics(send)
        elif path.startswith("/dashboard") or path in ("/", "/favicon.ico"):
            await self.dashboard(scope, receive, send)
        else:
            await self.proxy(scope, receive, send)

    async def _readiness(self, send: Send) -> None:
        if self.draining:
            await json_reply(send, 503, {"status": "draining", "pid": os.getpid()})
            return
        problem = self.writer.problem()
        if problem is not None:
            payload = {"status": "log_writer_failing", "reason": problem, "pid": os.getpid()}
            await json_reply(send, 503, payload)
            return
        await json_reply(send, 200, {"status": "ready", "pid": os.getpid()})

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


@asynccontextmanager
async def build_gateway(
    settings: Settings,
    *,
    transport: Transport | None = None,
    stages: Sequence[StageBuilder] = STAGES,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Gateway]:
    """``async with build_gateway(settings) as gateway``: built, started, and on exit stopped.

    ``transport`` is how the upstream reaches providers (``proxy.upstream.Transport``;
    default TCP with DNS), so a test can send every provider call to its own server.
    ``stages`` are the pipeline's stage builders, outermost first. ``clock`` (epoch
    seconds) is what key expiry and rotation grace periods are measured by.
    """
    async with AsyncExitStack() as stack:

        async def enter(name: str, part: AbstractAsyncContextManager[_T]) -> _T:
            return await stack.enter_async_context(_logged(name, part))

        store = await enter(
            "store",
            _migrated(open_store(settings.store_url, pool_size=settings.database_pool_size)),
        )
        logs: LogStore = store
        if settings.logs_url:
            logs = await enter("log store", _migrated(open_log_store(settings.logs_url)))
        redis = await enter("redis", _redis(settings.redis_url)) if settings.redis_url else None
        observers: list[Observer] = [metrics.observe_record]
        if settings.otel.enabled:
            from relayscope.tracing.spans import otlp_recorder

            tracer = otlp_recorder(settings.otel)
            await enter("tracer", _running(_nothing, lambda: asyncio.to_thread(tracer.shutdown)))
            observers.append(tracer)
        upstream = await enter(
            "upstream",
            open_upstream(
                transport or TcpTransport(),
                connect_timeout=settings.upstream_connect_timeout,
                read_timeout=settings.upstream_read_timeout,
                guard=not settings.target_allow_private_networks,
                max_connections=settings.upstream_max_connections,
            ),
        )
        journal = None
        if settings.journal_enabled:
            journal = Journal(settings.journal_dir, fsync_interval=settings.journal_fsync_interval)
            await enter(
                "journal", _running(_sync(journal.open), lambda: asyncio.to_thread(journal.close))
            )
        writer = LogWriter(
            logs,
            Spool(settings.spool_dir),
            batch_size=settings.log_batch_size,
            flush_interval=settings.log_flush_interval,
            write_timeout=settings.store_write_timeout,
            max_queued=settings.log_queue_max,
            observers=observers,
            dead_letters=DeadLetters(dead_letter_dir(settings.data_dir)),
            journal=journal,
        )
        await enter("log writer", _running(_sync(writer.start), writer.close))
        secret_box = SecretBox(settings.secret_key, settings.data_dir)
        virtual_keys = VirtualKeys(
            store, secret_box, now=lambda: datetime.fromtimestamp(clock(), UTC)
        )
        keys = KeyResolver(virtual_keys.lookup, ttl=settings.key_cache_ttl, clock=clock)
        repository = GovernanceRepository(store.database, records_here=logs is store)
        governance = Governance(repository, settings.governance)
        provider_keys = ProviderKeys(
            store.database, secret_box, ttl=settings.retry.provider_key_ttl
        )
        prompts = PromptCatalog(
            PromptRepository(store.database),
            ttl=settings.prompts.cache_ttl,
            max_entries=settings.prompts.cache_max_entries,
        )
        services = Services(
            store=store,
            writer=writer,
            redis=redis,
            redaction=governance.rules,
            provider_keys=provider_keys,
            prompts=prompts,
            clock=clock,
        )
        pipeline = default_stages(settings, services, stages)
        for stage in pipeline:  # the logging stage's start replays dead processes' journals
            await enter(type(stage).__name__, _running(stage.start, stage.aclose))
        key_watch = KeyWatch(store, keys, interval=settings.key_poll_interval)
        await enter("key watch", _running(_sync(key_watch.start), key_watch.stop))
        governance.on_delete_user(
            "cache_entries",
            create_cache_eraser(
                settings.cache,
                stage=next((s for s in pipeline if isinstance(s, CacheStage)), None),
                database=store.database,
                redis=redis,
                redis_prefix=settings.redis_prefix,
            ).delete_user,
        )
        await enter("governance", _running(governance.start, governance.stop))
        alerts = AlertsService(settings.alerts, store.database, writer, logs=logs)
        await enter("alerts", _running(_sync(alerts.start), alerts.stop))
        proxy = _proxy(settings, keys, build(pipeline, upstream))
        experiments = ExperimentRunner(
            ExperimentRepository(store.database),
            DatasetRepository(store.database),
            proxy,
            prompts=prompts,
            provider_keys=provider_keys,
        )
        await enter("experiments", _running(_nothing, experiments.close))
        evaluators = Evaluators(
            settings.evaluators,
            store.database,
            logs,
            judge=GatewayJudge(proxy, provider_keys, timeout=settings.evaluators.judge_timeout),
            writer=writer,
        )
        await enter("evaluators", _running(_sync(evaluators.start), evaluators.stop))
        api_services = ApiServices(
            store=store,
            keys=keys,
            logs=logs,
            governance=governance,
            provider_keys=provider_keys,
            cache_stats=services.cache_stats,
            prompts=prompts,
            alerts=alerts,
            dead_letters=writer.dead_letters,
            writer=writer,
            experiments=experiments,
            evaluators=evaluators,
            budgets_changed=next(
                (s.book.invalidate for s in pipeline if isinstance(s, BudgetStage)), None
            ),
            virtual_keys=virtual_keys,
        )
        api = _api(settings, api_services)
        gateway = Gateway(
            settings=settings,
            store=store,
            logs=logs,
            writer=writer,
            keys=keys,
            governance=governance,
            provider_keys=provider_keys,
            prompts=prompts,
            alerts=alerts,
            evaluators=evaluators,
            upstream=upstream,
            stages=pipeline,
            proxy=proxy,
            api=api,
            dashboard=create_dashboard(
                store=store,
                api=api,
                body_limits=_api_body_limits(settings),
                logs=logs,
                writer=writer,
            ),
            ingest=_ingest(settings, api_services),
        )
        log.info("gateway ready (pid %s, store %s)", os.getpid(), store.dialect)
        yield gateway


def _api(settings: Settings, services: ApiServices) -> Starlette:
    return create_api(
        services,
        routes=[
            *governance_api.routes,
            *provider_keys_api.routes,
            *virtual_keys_api.routes,
            *cache_api.routes,
            *prompts_api.routes(),
            *alerts_api.routes,
            *webhooks_api.routes,
            *rate_limits_api.routes,
            *budgets_api.routes,
            *analytics_routes.routes,
            *logs_api.routes,
            *scores_api.routes,
            *datasets_api.routes,
            *experiments_api.routes,
            *evaluators_api.routes,
            *audit_api.routes,
        ],
        body_limits=_api_body_limits(settings),
    )


def _ingest(settings: Settings, services: ApiServices) -> OtlpErrors:
    """The logging routes: their bodies are requests and responses the proxy would
    have carried, so they take the proxy's body limit, not the API's."""
    app = create_api(
        services,
        routes=ingest_api.routes(
            max_body_bytes=settings.max_body_bytes,
            log_max_body_bytes=settings.log_max_body_bytes,
        ),
        body_limits=BodyLimits(
            max_bytes=settings.max_body_bytes, timeout=settings.client_body_timeout
        ),
    )
    return OtlpErrors(app)


def _proxy(settings: Settings, keys: KeyResolver, pipeline: CallNext) -> ProxyApp:
    return ProxyApp(
        router=Router(
            ProviderRegistry(overrides=settings.provider_base_urls),
            Allowlist(settings.target_allowlist),
        ),
        keys=keys,
        pipeline=pipeline,
        limits=Limits(
            max_body_bytes=settings.max_body_bytes,
            max_headers=settings.max_headers,
            max_header_bytes=settings.max_header_bytes,
            max_concurrency=settings.max_concurrency,
            max_buffered_bytes=settings.max_buffered_bytes,
            client_body_timeout=settings.client_body_timeout,
        ),
        request_ids=RequestIds(
            strict=settings.strict_headers, remembered=settings.request_ids_remembered
        ),
        strict_headers=settings.strict_headers,
    )


def _api_body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits(max_bytes=settings.api_max_body_bytes, timeout=settings.client_body_timeout)


@asynccontextmanager
async def _logged(name: str, part: AbstractAsyncContextManager[_T]) -> AsyncIterator[_T]:
    async with part as value:
        log.debug("started %s", name)
        try:
            yield value
        finally:
            log.debug("stopping %s", name)


@asynccontextmanager
async def _running(
    start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[object]]
) -> AsyncIterator[None]:
    """A part that runs between ``start`` and ``stop``; stopped only if it started."""
    await start()
    try:
        yield
    finally:
        await stop()


def _sync(call: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        call()

    return run


async def _nothing() -> None:
    return None


class _Migratable(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...


_T = TypeVar("_T")
_S = TypeVar("_S", bound=_Migratable)


@asynccontextmanager
async def _migrated(store: _S) -> AsyncIterator[_S]:
    """A store, its schema migrated; closed on exit even if migrating failed."""
    try:
        await store.migrate()
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _redis(url: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(url)
    try:
        yield redis
    finally:
        await redis.aclose()


async def json_reply(send: Send, status: int, payload: object) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
