"""Prometheus metrics, served at ``GET /metrics``.

Request metrics are counted from log records, in the log writer, so the hot path
pays nothing for them: ``observe_record`` runs once per record, after the response
has gone. Cache hits and rate-limited requests are counted from the record's own
fields, so the features that set those fields need no metrics code. A feature that
counts something records do not carry (a Redis failure, say) increments a metric
defined here, e.g. ``metrics.REDIS_ERRORS.labels(feature="cache").inc()``.

With ``relayscope serve --workers N`` every worker writes its values to
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set up by
``serve``), and a scrape answered by any worker reports the whole process group.
Replicas are separate targets: Prometheus scrapes each one.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from relayscope.record import LogRecord

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format, which every Prometheus version (and other scrapers) reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

REQUESTS = Counter(
    "relayscope_requests", "Proxied requests by provider and HTTP status.", ["provider", "status"]
)
REQUEST_SECONDS = Histogram(
    "relayscope_request_duration_seconds",
    "Proxied request latency (to the last byte) by provider.",
    ["provider"],
    buckets=_LATENCY_BUCKETS,
)
TIME_TO_FIRST_BYTE = Histogram(
    "relayscope_time_to_first_chunk_seconds",
    "Streamed responses: time to the first chunk, by provider.",
    ["provider"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    "relayscope_upstream_errors",
    "Requests that failed upstream: 5xx from the provider, unreachable (502) or timed out (504).",
    ["provider", "status"],
)
TOKENS = Counter("relayscope_tokens", "Tokens reported by providers.", ["provider", "direction"])
CACHE_HITS = Counter(
    "relayscope_cache_hits", "Requests answered from the response cache.", ["provider"]
)
RATE_LIMITED = Counter(
    "relayscope_rate_limited",
    "Requests refused with 429, by a gateway rate-limit policy or by the provider.",
    ["provider"],
)
REDIS_ERRORS = Counter(
    "relayscope_redis_errors",
    "Failed Redis operations, by the feature that made them.",
    ["feature"],
)
UPSTREAM_FIELDS_REFUSED = Counter(
    "relayscope_upstream_fields_refused",
    "Replies with a usage count or model that was not valid (dropped, noted on the record).",
    ["provider"],
)

LOG_RECORDS = Counter(
    "relayscope_log_records",
    "Log records by outcome: written, spooled (store down), replayed (from the spool), failed.",
    ["outcome"],
)
LOG_QUEUE_DEPTH = Gauge(
    "relayscope_log_queue_depth",
    "Records waiting in memory for the log writer.",
    multiprocess_mode="livesum",
)
SPOOL_BYTES = Gauge(
    "relayscope_log_spool_bytes",
    "Bytes of log records spooled on disk, waiting for the store.",
    multiprocess_mode="livemax",
)
LOG_WRITER_RESTARTS = Counter(
    "relayscope_log_writer_restarts",
    "Times the log writer task died and was restarted.",
)
DEAD_LETTERS = Gauge(
    "relayscope_log_dead_letters",
    "Records kept as dead letters: refused by the store, or unreadable in the spool.",
    multiprocess_mode="livemax",
)
LOG_LAST_STORED_SECONDS = Gauge(
    "relayscope_log_seconds_since_last_stored_batch",
    "Seconds since the log writer last stored a batch (high with a deep queue: stalled).",
    multiprocess_mode="livemin",
)
STORE_WRITE_SECONDS = Histogram(
    "relayscope_store_write_seconds",
    "Time to write one batch of log records to the store.",
    buckets=_WRITE_BUCKETS,
)


def observe_record(record: LogRecord) -> None:
    """Count one finished request (called by the log writer, off the hot path)."""
    provider = record.provider
    _child(REQUESTS, provider, str(record.status)).inc()
    _child(REQUEST_SECONDS, provider).observe(record.latency_ms / 1000)
    if record.ttft_ms is not None:
        _child(TIME_TO_FIRST_BYTE, provider).observe(record.ttft_ms / 1000)
    if record.status >= 500:
        _child(UPSTREAM_ERRORS, provider, str(record.status)).inc()
    if record.prompt_tokens:
        _child(TOKENS, provider, "input").inc(record.prompt_tokens)
    if record.completion_tokens:
        _child(TOKENS, provider, "output").inc(record.completion_tokens)
    if record.cache_hit:
        _child(CACHE_HITS, provider).inc()
    if record.rate_limited:
        _child(RATE_LIMITED, provider).inc()


@lru_cache(maxsize=4096)
def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, which validates and locks on every call."""
    return metric.labels(*labels)


def render() -> bytes:
    """The exposition text: this process, or every worker's when in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def share_between_workers(data_dir: Path) -> None:
    """Before ``--workers N`` starts its workers: a fresh directory for their shared values.

    Leaves a directory the operator chose (``PROMETHEUS_MULTIPROC_DIR`` already set) alone.
    """
    if os.environ.get(MULTIPROC_ENV):
        return
    directory = data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)  # counts of an earlier run are not ours
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
