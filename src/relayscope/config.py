"""Gateway settings, read from ``RELAYSCOPE_*`` environment variables.

Each feature owns a frozen settings class next to its code, with a ``help`` text
on every field (``setting(default, help)``), and the root ``Settings`` composes
them with ``section("module:Class", help)``: that section's fields are read under
``RELAYSCOPE_<FIELD>_``, so ``Settings.cache.max_bytes`` comes from
``RELAYSCOPE_CACHE_MAX_BYTES``. The README's configuration reference lists every
variable (``relayscope config`` prints them with their current values).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import functools
import importlib
import os
import re
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

PREFIX = "RELAYSCOPE_"
MIN_LOG_BODY_BYTES = 1024
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLEANS |= {"0": False, "false": False, "no": False, "off": False}
# Read by the pieces named, not by ``Settings``: never reported as unknown.
_PROVIDER_BASE_URL = re.compile(rf"{PREFIX}[A-Z0-9_]+_BASE_URL")  # the provider registry
_OTHER_VARIABLES = frozenset({f"{PREFIX}TEST_POSTGRES_URL"})  # relayscope.testing


class ConfigError(SystemExit):
    """A setting the gateway cannot start with, named with the values it accepts.

    A ``SystemExit``: wherever the settings are read (a CLI command, the app factory in
    each uvicorn worker) the process stops with this one line and no traceback.
    """

    def __init__(self, variable: str, value: object, allowed: str) -> None:
        super().__init__(f"Invalid {variable}={value!r}: {allowed}")
        self.variable = variable
        self.value = value
        self.allowed = allowed


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from relayscope.alerts.settings import AlertsSettings
    from relayscope.budgets.settings import BudgetSettings
    from relayscope.cache.settings import CacheSettings
    from relayscope.evaluators.settings import EvaluatorSettings
    from relayscope.governance.service import GovernanceSettings
    from relayscope.prompts.settings import PromptSettings
    from relayscope.ratelimit.settings import RateLimitSettings
    from relayscope.retry.settings import RetrySettings
    from relayscope.tracing.settings import TracingSettings


def setting(default: Any, help: str) -> Any:
    """A settings field with its help text.

    A mutable default is copied for each instance: one shared object would let a change
    through one ``Settings`` show up in every other.
    """
    if isinstance(default, (list, dict, set, bytearray)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def section(path: str, help: str) -> Any:
    """A feature's settings class (``"package.module:Class"``), read under its own prefix.

    Named by path so that this module never imports a feature: features import
    ``setting`` from here.
    """
    return field(default_factory=lambda: _load(path)(), metadata={"help": help, "section": path})


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    loaded: type = getattr(importlib.import_module(module), name)
    return loaded


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("relayscope", appauthor=False))


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path = setting(
        default_data_dir(), "Directory for the embedded store, log spool and log journal."
    )
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
        "relayscope.tracing.settings:TracingSettings",
        "OpenTelemetry trace export (RELAYSCOPE_OTEL_*).",
    )
    redis_url: str = setting(
        "", "Redis URL (redis://host:port/db) shared by replicas for cache and rate limits."
    )
    redis_prefix: str = setting("relayscope:", "Prefix of every Redis key the gateway writes.")
    max_body_bytes: int = setting(
        32 * 1024 * 1024, "Largest request body the proxy accepts (413 beyond)."
    )
    api_max_body_bytes: int = setting(
        1024 * 1024, "Largest request body /api and the dashboard accept (413 beyond)."
    )
    max_headers: int = setting(128, "Most request headers accepted (431 beyond).")
    max_header_bytes: int = setting(
        64 * 1024,
        "Largest total size of request header names and values (431 beyond); the head as "
        "sent (request line and headers) is refused as soon as it passes this plus 16 KiB.",
    )
    client_header_timeout: float = setting(
        10.0,
        "Seconds a client may take to send a request's line and headers, counted from "
        "connecting or from its previous answer (408 and the connection closed beyond).",
    )
    client_body_timeout: float = setting(
        60.0, "Seconds a client may take to send its request body, on every route (408 beyond)."
    )
    max_concurrency: int = setting(
        10_000,
        "Proxied requests per process admitted and not yet answering (a stream counts until "
        "its response starts, not while it streams); beyond it a 503 with Retry-After.",
    )
    max_buffered_bytes: int = setting(
        1024 * 1024 * 1024,
        "Request body bytes each process holds for the requests and streams under way "
        "(kept for their log records); a request beyond it gets a 503 with Retry-After.",
    )
    target_allowlist: tuple[str, ...] = setting(
        (),
        "Comma-separated hosts (host, host:port, *.domain or scheme://host:port) that "
        "Helicone-Target-Url may name.",
    )
    target_allow_private_networks: bool = setting(
        False,
        "Let allowlisted target host names resolve to loopback, private or link-local "
        "addresses (refused by default; IP literals in the allowlist are always allowed).",
    )
    strict_headers: bool = setting(
        False,
        "Refuse what the default, Helicone-compatible mode proxies with a Helicone-Warning: "
        "a non-UUID Helicone-Request-Id or an unusable Helicone-RateLimit-Policy (400), an "
        "unknown Helicone-Prompt-Id (404), a reused Helicone-Request-Id (409).",
    )
    request_ids_remembered: int = setting(
        100_000,
        "Client-chosen Helicone-Request-Ids each process remembers to catch a reuse at once "
        "(about 250 bytes each); older reuses are caught when the record is stored.",
    )
    upstream_connect_timeout: float = setting(10.0, "Seconds to connect to a provider.")
    upstream_max_connections: int = setting(
        10_000,
        "Connections to providers each process holds at most, open streams included (0: no "
        "limit); a request beyond waits for one. Each also takes a file descriptor.",
    )
    upstream_read_timeout: float = setting(
        600.0, "Seconds to wait for a provider's response bytes (504 beyond)."
    )
    log_batch_size: int = setting(500, "Log records written to the store per batch at most.")
    log_flush_interval: float = setting(0.25, "Seconds between log batch writes at most.")
    log_queue_max: int = setting(100_000, "Records held in memory before spilling to disk.")
    log_max_body_bytes: int = setting(
        4 * 1024 * 1024,
        "Bytes of each request and response body a log record keeps (at least 1024); a "
        "longer body is cut, marked, and its size recorded. Clients always get it whole.",
    )
    store_write_timeout: float = setting(
        5.0, "Seconds a batch write may take before it is spooled to disk instead."
    )
    journal_enabled: bool = setting(
        True,
        "Journal each finished request to data_dir/journal before its answer completes, so "
        "a crash loses no record (false: records wait in memory until stored, and a crash "
        "loses those).",
    )
    journal_fsync_interval: float = setting(
        0.1,
        "Seconds between fsyncs of the log journal (data_dir/journal): a power loss loses "
        "at most this much of the records not yet stored; a process crash loses none.",
    )
    key_cache_ttl: float = setting(
        5.0,
        "Seconds a gateway-key lookup is cached in memory. A revoked key stops working "
        "sooner: at once on Postgres (NOTIFY), within RELAYSCOPE_KEY_POLL_INTERVAL on SQLite.",
    )
    key_poll_interval: float = setting(
        0.5,
        "Seconds between checks, on SQLite, that the keys a gateway has cached are not "
        "revoked (Postgres tells every gateway at once instead).",
    )
    governance: GovernanceSettings = section(
        "relayscope.governance.service:GovernanceSettings",
        "Retention and redaction (RELAYSCOPE_GOVERNANCE_*).",
    )
    secret_key: str = setting(
        "",
        "Fernet key(s), comma-separated, encrypting stored provider keys (default: generated "
        "into data_dir/secret.key on first use).",
    )
    retry: RetrySettings = section(
        "relayscope.retry.settings:RetrySettings", "Retries and fallbacks (RELAYSCOPE_RETRY_*)."
    )
    cache: CacheSettings = section(
        "relayscope.cache.settings:CacheSettings", "Response cache (RELAYSCOPE_CACHE_*)."
    )
    alerts: AlertsSettings = section(
        "relayscope.alerts.settings:AlertsSettings",
        "Alerts and request webhooks (RELAYSCOPE_ALERTS_*).",
    )
    ratelimit: RateLimitSettings = section(
        "relayscope.ratelimit.settings:RateLimitSettings", "Rate limiting (RELAYSCOPE_RATELIMIT_*)."
    )
    budgets: BudgetSettings = section(
        "relayscope.budgets.settings:BudgetSettings", "Budgets (RELAYSCOPE_BUDGETS_*)."
    )
    evaluators: EvaluatorSettings = section(
        "relayscope.evaluators.settings:EvaluatorSettings",
        "Evaluators on live traffic and LLM-as-judge calls (RELAYSCOPE_EVALUATORS_*).",
    )
    provider_base_urls: Mapping[str, str] = setting(
        {}, "Per-provider upstream overrides, from RELAYSCOPE_<PROVIDER>_BASE_URL."
    )
    prompts: PromptSettings = section(
        "relayscope.prompts.settings:PromptSettings", "Prompt templates (RELAYSCOPE_PROMPTS_*)."
    )

    def __post_init__(self) -> None:
        if self.log_max_body_bytes < MIN_LOG_BODY_BYTES:
            raise ConfigError(
                f"{PREFIX}LOG_MAX_BODY_BYTES",
                self.log_max_body_bytes,
                f"must be an integer of at least {MIN_LOG_BODY_BYTES}",
            )
        if not self.key_poll_interval > 0:
            raise ConfigError(
                f"{PREFIX}KEY_POLL_INTERVAL", self.key_poll_interval, "must be a positive number"
            )
        _check_choices(self, PREFIX)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'relayscope.db'}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"

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


def read(
    cls: type, env: Mapping[str, str], prefix: str, skip: AbstractSet[str] = frozenset()
) -> dict[str, Any]:
    """Field values of settings class ``cls`` found in ``env`` under ``prefix``."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = str(f.type)
        if f.metadata.get("section"):
            nested = _load(f.metadata["section"])
            values[f.name] = nested(**read(nested, env, f"{prefix}{f.name.upper()}_"))
            continue
        raw = env.get(prefix + f.name.upper())
        if raw is not None:
            values[f.name] = _convert(kind, raw, prefix + f.name.upper())
    return values


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``RELAYSCOPE_*`` variable that no setting reads, naming the
    closest known variable when one is near (a misspelt setting is otherwise silently
    ignored)."""
    env = os.environ if environ is None else environ
    known = {name for name, _value, _help in reference()} - {f"{PREFIX}PROVIDER_BASE_URLS"}
    suffixes = [name[len(PREFIX) :] for name in known]
    warnings = []
    for name in sorted(env):
        if not name.startswith(PREFIX) or name in known or name in _OTHER_VARIABLES:
            continue
        if _PROVIDER_BASE_URL.fullmatch(name):
            continue
        # Compared without the prefix, which every name shares.
        close = difflib.get_close_matches(name[len(PREFIX) :], suffixes, n=1)
        hint = f"did you mean {PREFIX}{close[0]}?" if close else "`relayscope config` lists them."
        warnings.append(f"Unknown setting {name} is ignored; {hint}")
    return warnings


def _check_choices(settings: DataclassInstance, prefix: str) -> None:
    """ConfigError for a ``Literal`` field, in ``settings`` or its sections, holding
    another value (settings may be built in code, not only from the environment)."""
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.metadata.get("section"):
            _check_choices(value, f"{prefix}{f.name.upper()}_")
            continue
        choices = _choices(str(f.type))
        if choices is not None and value not in choices:
            raise ConfigError(
                prefix + f.name.upper(), value, f"allowed values are {', '.join(choices)}"
            )


@functools.cache
def _choices(kind: str) -> tuple[str, ...] | None:
    """The values of a ``Literal[...]`` annotation (annotations are strings here)."""
    if not (kind.startswith("Literal[") and kind.endswith("]")):
        return None
    choices: tuple[str, ...] = ast.literal_eval(f"({kind[len('Literal[') : -1]},)")
    return choices


def reference(settings: Any = None, prefix: str = PREFIX) -> Iterator[tuple[str, Any, str]]:
    """(variable, value, help) for every setting of ``settings`` (default: the defaults)."""
    settings = Settings() if settings is None else settings
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.metadata.get("section"):
            yield from reference(value, f"{prefix}{f.name.upper()}_")
        else:
            yield prefix + f.name.upper(), value, f.metadata.get("help", "")


def _convert(kind: str, raw: str, name: str) -> Any:
    """``raw`` as the field's annotated type (annotations are strings here)."""
    if kind == "Path":
        return Path(raw).expanduser()
    if kind == "bool":
        flag = _BOOLEANS.get(raw.strip().lower())
        if flag is None:
            raise ConfigError(name, raw, f"allowed values are {', '.join(_BOOLEANS)}")
        return flag
    if kind in ("int", "float"):
        try:
            return int(raw) if kind == "int" else float(raw)
        except ValueError:
            raise ConfigError(name, raw, f"must be {_NUMBERS[kind]}") from None
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    choices = _choices(kind)
    if choices is not None:
        # Matched case-insensitively; any other value is refused by Settings' check.
        wanted = raw.strip().lower()
        return next((choice for choice in choices if choice.lower() == wanted), raw)
    return raw


_NUMBERS = {"int": "an integer", "float": "a number"}
