"""Gateway settings, read from ``RELAYSCOPE_*`` environment variables.

Each feature owns a frozen settings class next to its code; ``Settings`` composes
them. Every field carries a ``help`` text, which the README's configuration
reference mirrors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import platformdirs

PREFIX = "RELAYSCOPE_"


def setting(default: object, help: str, **kwargs: object):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default, metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help}, **kwargs)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("relayscope", appauthor=False))


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path = setting(default_data_dir(), "Directory for the embedded store and log spool.")
    database_url: str = setting(
        "", "Store URL: sqlite:///path (default: relayscope.db in the data dir)."
    )
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
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or f.name == "provider_base_urls":
                continue
            values[f.name] = _convert(f.type, raw)
        values["provider_base_urls"] = {
            key[len(PREFIX) : -len("_BASE_URL")].lower(): value
            for key, value in env.items()
            if key.startswith(PREFIX) and key.endswith("_BASE_URL") and value
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _convert(type_name: object, raw: str) -> object:
    kind = str(type_name)
    if kind == "Path":
        return Path(raw).expanduser()
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw
