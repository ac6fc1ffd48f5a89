"""Known request records for the analytics and dashboard tests, and reference maths."""

from __future__ import annotations

import asyncio
import random
import statistics
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore

DAY = datetime(2026, 3, 2, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)


def make(org_id: str, created_at: datetime, **fields: Any) -> LogRecord:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "created_at": created_at,
        "provider": "openai",
        "path": "/openai/v1/chat/completions",
        "request_model": "gpt-4o-mini",
        "status": 200,
        "latency_ms": 10.0,
        "request_body": '{"messages": [{"role": "user", "content": "hello"}]}',
        "response_body": None,
    }
    values.update(fields)
    return LogRecord(**values)


def dataset(org_id: str) -> list[LogRecord]:
    """~2,100 records over 2026-03-02 10:00 .. 2026-03-03 24:00 UTC."""
    records = []
    at_ten = DAY + timedelta(hours=10)
    for i in range(100):
        error = i % 10 == 9
        records.append(
            make(
                org_id,
                at_ten + timedelta(seconds=30 * i),
                latency_ms=float((i * 37) % 100 + 1),  # 1..100, shuffled
                request_model="gpt-4o-mini" if i % 2 == 0 else "claude-3-5-haiku-latest",
                provider="openai" if i % 2 == 0 else "anthropic",
                user_id=["alice", "bob", None][i % 3],
                properties={"feature": "search" if i % 4 < 2 else "chat"},
                status=500 if error else 200,
                error="boom" if error else None,
                cost_usd=None if error else 0.001 * (i + 1),
                prompt_tokens=None if error else 10 + i,
                completion_tokens=None if error else 5,
                total_tokens=None if error else 15 + i,
                session_id="sess-1" if i < 6 else None,
                session_path=["/plan", "/plan/search", "/plan/search", "/answer", None, "/plan"][i]
                if i < 6
                else None,
                session_name="trip planner" if i < 6 else None,
                request_name=f"step-{i}" if i < 6 else None,
            )
        )
    at_eleven = DAY + timedelta(hours=11)
    for i in range(10):
        records.append(
            make(
                org_id,
                at_eleven + timedelta(minutes=5 * i),
                latency_ms=1000.0 * (i + 1),
                user_id="carol",
                properties={"feature": "chat", "tier": "gold"},
                status=429 if i == 0 else 200,
                rate_limited=i == 0,
                error="rate limited" if i == 0 else None,
                cache_hit=i == 1,
                cost_usd=None if i == 0 else 0.01,
                prompt_tokens=None if i == 0 else 100,
                completion_tokens=None if i == 0 else 50,
                total_tokens=None if i == 0 else 150,
            )
        )
    rng = random.Random(7)
    for i in range(2000):
        records.append(
            make(
                org_id,
                NEXT_DAY + timedelta(seconds=43.2 * i),
                latency_ms=0.0 if i == 0 else round(rng.lognormvariate(6, 1.2), 3),
                request_model=rng.choice(["gpt-4o", "gpt-4o-mini"]),
                user_id=f"u{i % 7}",
                cost_usd=0.0001,
                prompt_tokens=3,
                completion_tokens=2,
                total_tokens=5,
            )
        )
    return records


def other_org_dataset(org_id: str) -> list[LogRecord]:
    return [
        make(
            org_id,
            DAY + timedelta(hours=10, minutes=m),
            user_id="mallory",
            cost_usd=100.0,
            latency_ms=99999.0,
            properties={"feature": "secret-feature"},
            session_id="sess-1",
            session_name="mallory session",
            request_body='{"messages": [{"role": "user", "content": "mallory secret plan"}]}',
        )
        for m in range(3)
    ]


def insert(database_url: str, records: list[LogRecord], batch: int = 500) -> None:
    async def run() -> None:
        store = SqlStore(database_url)
        try:
            for start in range(0, len(records), batch):
                await store.insert_requests(records[start : start + batch])
        finally:
            await store.close()

    asyncio.run(run())


def is_error(r: LogRecord) -> bool:
    return r.status >= 400 or r.error is not None


def within(records: Iterable[LogRecord], since: datetime, until: datetime) -> list[LogRecord]:
    return [r for r in records if since <= r.created_at < until]


def percentiles(values: list[float]) -> list[float]:
    """P50, P95, P99 with linear interpolation (the stdlib's inclusive method)."""
    if len(values) == 1:
        return values * 3
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return [cuts[49], cuts[94], cuts[98]]


PANEL_START = DAY + timedelta(hours=10)
PANEL_MODELS = ["m-alpha", "m-beta", "m-gamma", "m-delta", "m-eps"]
_PANEL_USERS = ["ana", "ben", "cy", "dee", "eli", "fay", "gus", None]


def panel_dataset(org_id: str) -> list[LogRecord]:
    """300 requests over 10:00-13:00: five models of unequal traffic, streams with a
    time to first token, cache hits (free, with what they saved) and prompt-cache reads."""
    rng = random.Random(26)
    out: list[LogRecord] = []
    for i in range(300):
        model = PANEL_MODELS[min(int(rng.expovariate(0.8)), len(PANEL_MODELS) - 1)]
        stream = i % 5 in (0, 1)
        hit = i % 7 == 3
        prompt = rng.randint(20, 400)
        cached = rng.randint(0, prompt) if i % 3 == 0 else None
        price = round(0.0001 * (prompt + 3 * 40), 6)
        out.append(
            make(
                org_id,
                PANEL_START + timedelta(seconds=36 * i + rng.randint(0, 30)),
                request_model=model,
                user_id=_PANEL_USERS[i % 8],
                properties={"feature": ["chat", "search", "summary"][i % 3]},
                latency_ms=round(rng.lognormvariate(5, 0.8), 3),
                stream=stream,
                # Non-streamed requests with a TTFT must not count in the TTFT panel.
                ttft_ms=round(rng.uniform(20, 900), 3) if stream or i % 11 == 0 else None,
                prompt_tokens=prompt,
                completion_tokens=40,
                total_tokens=prompt + 40,
                cache_read_tokens=cached,
                cache_hit=hit,
                cost_usd=0.0 if hit else price,
                cost_saved_usd=price if hit else None,
            )
        )
    return out
