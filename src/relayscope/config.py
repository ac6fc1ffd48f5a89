"""Gateway settings, read from ``RELAYSCOPE_*`` environment variables.

Each feature owns a frozen settings class next to its code, with a ``help`` text
on every field, and the root ``Settings`` composes them: a field of the root whose
type is a settings class reads its own fields under ``RELAYSCOPE_<FIELD>_``, so
``Settings.cache.max_bytes`` comes from ``RELAYSCOPE_CACHE_MAX_BYTES``. The
README's configuration reference lists every variable (``relayscope config``
prints it).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from relayscope.tracing.settings import TracingSettings

PREFIX = "RELAYSCOPE_"
S = TypeVar("S")


def setting(default: Any, help: str) -> Any:
    """A settings field with its help text."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default, metadata={"help": help})
    return field(default=default, metadata={"help": help})


def section(cls: type[S], help: str) -> Any:
    """A nested settings class, read under its own prefix."""
    return field(default_factory=cls, metadata={"help": help, "section": True})


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("relayscope", appauthor=False))


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path = setting(default_data_dir(), "Directory for the embedded store and log spool.")
    database_url: str = setting(
        "", "Store URL: sqlite:///path or postgresql://... (default: relayscope.db in data_dir)."
    )
    logs_url: str = setting(
        "",
        "Separate log store: clickhouse://user:password@host:8123/database (ClickHouse over "
        "HTTP) or chdb:///path (embedded ClickHouse); default: the records stay in the store.",
    )
    database_pool_size: int = setting(
        10, "Postgres connections each gateway process keeps open (and as many more on bursts)."
    )
    shutdown_drain_seconds: float = setting(
        0.0,
        "On SIGTERM, seconds to keep serving with /readyz answering 503 before shutting down, "
        "so a load balancer stops sending traffic first.",
    )
    metrics_enabled: bool = setting(True, "Serve Prometheus metrics at GET /metrics.")
    otel: TracingSettings = section(
        TracingSettings, "OpenTelemetry trace export (RELAYSCOPE_OTEL_*)."
    )
    redis_url: str = setting(
        "", "Redis URL (redis://host:port/db) shared by replicas for cache and rate limits."
    )
    redis_prefix: str = setting("relayscope:", "Prefix of every Redis key the gateway writes.")
    max_body_bytes: int = setting(32 * 1024 * 1024, "Largest request body accepted (413 beyond).")
    target_allowlist: tuple[str, ...] = setting(
        (),
        "Comma-separated hosts (host, host:port, *.domain or scheme://host:port) that "
        "Helicone-Target-Url may name.",
    )
    upstream_connect_timeout: float = setting(10.0, "Seconds to connect to a provider.")
    upstream_read_timeout: float = setting(
        600.0, "Seconds to wait for a provider's response bytes (504 beyond)."
    )
    log_batch_size: int = setting(500, "Log records written to the store per batch at most.")
    log_flush_interval: float = setting(0.25, "Seconds between log batch writes at most.")
    log_queue_max: int = setting(100_000, "Records held in memory before spilling to disk.")
    store_write_timeout: float = setting(
        5.0, "Seconds a batch write may take before it is spooled to disk instead."
    )
    key_cache_ttl: float = setting(5.0, "Seconds a gateway-key lookup is cached in memory.")
    provider_base_urls: Mapping[str, str] = setting(
        {}, "Per-provider upstream overrides, from RELAYSCOPE_<PROVIDER>_BASE_URL."
    )

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'relayscope.db'}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values = read(cls, env, PREFIX, skip={"provider_base_urls"})
        values["provider_base_urls"] = {
            key[len(PREFIX) : -len("_BASE_URL")].lower(): value
            for key, value in env.items()
            if key.startswith(PREFIX) and key.endswith("_BASE_URL") and value
        }
        values.update(overrides)
        return cls(**values)


def read(cls: type, env: Mapping[str, str], prefix: str, skip: set[str] = frozenset()) -> dict:
    """Field values of settings class ``cls`` found in ``env`` under ``prefix``."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = hints[f.name]
        if f.metadata.get("section"):
            values[f.name] = kind(**read(kind, env, f"{prefix}{f.name.upper()}_"))
            continue
        raw = env.get(prefix + f.name.upper())
        if raw is not None:
            values[f.name] = _convert(kind, raw, prefix + f.name.upper())
    return values


def reference(settings: Any = None, prefix: str = PREFIX) -> Iterator[tuple[str, Any, str]]:
    """(variable, value, help) for every setting of ``settings`` (default: the defaults)."""
    settings = Settings() if settings is None else settings
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.metadata.get("section"):
            yield from reference(value, f"{prefix}{f.name.upper()}_")
        else:
            yield prefix + f.name.upper(), value, f.metadata.get("help", "")


def _convert(kind: Any, raw: str, name: str) -> Any:
    try:
        if kind is Path:
            return Path(raw).expanduser()
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if kind in (int, float):
            return kind(raw)
        if typing.get_origin(kind) is tuple:
            return tuple(item.strip() for item in raw.split(",") if item.strip())
    except ValueError:
        raise SystemExit(f"Invalid value for {name}: {raw!r}") from None
    return raw
