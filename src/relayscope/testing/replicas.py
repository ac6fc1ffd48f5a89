"""Several ``relayscope serve`` processes sharing one Postgres and one Redis.

To clients they are one gateway behind a load balancer; each replica has its
own data directory (its own spool), as on separate hosts. Every Redis key they
write starts with a prefix unique to this set, deleted by ``stop``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from redis import Redis

from relayscope.testing.process import GatewayProcess

REDIS_URL = "redis://127.0.0.1:6379/0"


class Replicas:
    def __init__(
        self,
        base_dir: Path,
        *,
        store_url: str,
        env: Mapping[str, str] | None = None,
        count: int = 2,
        redis_url: str = REDIS_URL,
    ) -> None:
        self.store_url = store_url
        self.redis_url = redis_url
        self.redis_prefix = f"test-{uuid.uuid4().hex}:"
        shared = {
            "RELAYSCOPE_DATABASE_URL": store_url,
            "RELAYSCOPE_REDIS_URL": redis_url,
            "RELAYSCOPE_REDIS_PREFIX": self.redis_prefix,
            **(env or {}),
        }
        self.processes = [GatewayProcess(base_dir / f"replica-{n}", shared) for n in range(count)]

    def __getitem__(self, index: int) -> GatewayProcess:
        return self.processes[index]

    def __iter__(self) -> Iterator[GatewayProcess]:
        return iter(self.processes)

    def __len__(self) -> int:
        return len(self.processes)

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def start(self, timeout: float = 30.0) -> Replicas:
        # One at a time: the first creates the schema and the default org; the
        # concurrent start-up path has its own test (the store's migration lock).
        for process in self.processes:
            process.start(timeout)
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        with Redis.from_url(self.redis_url) as redis:
            keys = list(redis.scan_iter(match=self.redis_prefix + "*", count=1000))
            if keys:
                redis.delete(*keys)

    def redis_keys(self) -> list[str]:
        """Keys this set's gateways wrote to Redis."""
        with Redis.from_url(self.redis_url) as redis:
            return [k.decode() for k in redis.scan_iter(match=self.redis_prefix + "*")]

    def __enter__(self) -> Replicas:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
