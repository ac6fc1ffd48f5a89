"""Fill a store with realistic, reproducible request records (for scale tests and demos).

    python -m relayscope.testing.seed --rows 1000000 --db sqlite:///big.db

Records go through ``SqlStore.insert_requests`` in batches, exactly as the log
writer writes them, so rollups and search indexes are maintained the same way.
Prints the org's name and a new gateway key for it (sign in to the dashboard with it).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import click
import orjson

from relayscope.auth.keys import ADMIN
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore

MODELS = [
    # (provider, model, $ per 1M input, $ per 1M output, median latency ms)
    ("openai", "gpt-4o-mini", 0.15, 0.60, 450.0),
    ("openai", "gpt-4o", 2.50, 10.0, 900.0),
    ("anthropic", "claude-3-5-haiku-latest", 0.80, 4.0, 600.0),
    ("anthropic", "claude-3-5-sonnet-latest", 3.0, 15.0, 1400.0),
    ("groq", "llama-3.1-8b-instant", 0.05, 0.08, 150.0),
]
MODEL_WEIGHTS = [50, 15, 15, 10, 10]
FEATURES = ["search", "chat", "summarize", "classify", "translate"]
WORDS = [
    "invoice",
    "refund",
    "shipping",
    "weather",
    "recipe",
    "poem",
    "summary",
    "contract",
    "travel",
    "budget",
    "python",
    "database",
    "migration",
    "holiday",
    "meeting",
    "report",
    "translate",
    "french",
    "garden",
    "tennis",
    "astronomy",
    "volcano",
    "quantum",
    "piano",
    "marathon",
    "coffee",
    "bicycle",
]


def records(
    org_id: str, rows: int, *, days: float, end: datetime, seed: int, users: int
) -> Iterator[LogRecord]:
    rng = random.Random(seed)
    span = timedelta(days=days).total_seconds()
    start = end - timedelta(seconds=span)
    session: tuple[str, str, int] | None = None
    for i in range(rows):
        created = start + timedelta(seconds=span * (i + rng.random()) / rows)
        provider, model, price_in, price_out, median = rng.choices(MODELS, MODEL_WEIGHTS)[0]
        user = f"user-{rng.randrange(users):04d}"
        roll = rng.random()
        status = 500 if roll < 0.02 else 429 if roll < 0.03 else 200
        prompt_tokens = rng.randint(20, 2000)
        completion_tokens = rng.randint(5, 800) if status == 200 else 0
        words = " ".join(rng.choices(WORDS, k=6))
        if session is None or rng.random() < 0.2:
            session = (str(uuid.uuid4()), f"task {words.split()[0]}", 0)
        session = (session[0], session[1], session[2] + 1)
        step = session[2]
        body = {"model": model, "messages": [{"role": "user", "content": f"Please help: {words}"}]}
        answer = {
            "model": model,
            "choices": [{"message": {"role": "assistant", "content": f"Here is help on {words}"}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
        }
        yield LogRecord(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            org_id=org_id,
            created_at=created,
            provider=provider,
            path="/openai/v1/chat/completions",
            request_model=model,
            response_model=model if status == 200 else None,
            status=status,
            latency_ms=round(rng.lognormvariate(0, 0.5) * median, 3),
            ttft_ms=round(rng.lognormvariate(0, 0.4) * median / 4, 3),
            prompt_tokens=prompt_tokens if status == 200 else None,
            completion_tokens=completion_tokens if status == 200 else None,
            total_tokens=prompt_tokens + completion_tokens if status == 200 else None,
            cost_usd=(prompt_tokens * price_in + completion_tokens * price_out) / 1e6
            if status == 200
            else None,
            user_id=user,
            session_id=session[0],
            session_path="/agent" + ("/tool" if step % 3 == 0 else "") + f"/step{step % 2}",
            session_name=session[1],
            properties={"feature": rng.choice(FEATURES), "env": "prod" if i % 10 else "staging"},
            rate_limited=status == 429,
            cache_hit=status == 200 and rng.random() < 0.05,
            error="upstream error" if status == 500 else None,
            request_body=orjson.dumps(body).decode(),
            response_body=orjson.dumps(answer).decode() if status == 200 else None,
        )


async def seed(
    db: str, rows: int, *, org: str, days: float, seed_value: int, batch: int, users: int
) -> tuple[str, float]:
    store = SqlStore(db)
    try:
        await store.migrate()
        the_org = await store.ensure_org(org)
        _info, key = await store.create_key(the_org.id, name="seed", role=ADMIN)
        started = time.perf_counter()
        pending: list[LogRecord] = []
        end = datetime.now(UTC)
        for record in records(the_org.id, rows, days=days, end=end, seed=seed_value, users=users):
            pending.append(record)
            if len(pending) >= batch:
                await store.insert_requests(pending)
                pending = []
        await store.insert_requests(pending)
        return key, time.perf_counter() - started
    finally:
        await store.close()


@click.command()
@click.option("--rows", default=100_000, show_default=True, type=int)
@click.option("--db", required=True, help="Store URL, e.g. sqlite:///big.db")
@click.option("--org", default="seed", show_default=True, help="Org name (created if new).")
@click.option("--days", default=30.0, show_default=True, help="Spread over the last N days.")
@click.option("--seed", "seed_value", default=1, show_default=True, type=int)
@click.option("--batch", default=2000, show_default=True, type=int)
@click.option("--users", default=200, show_default=True, type=int)
def main(
    db: str, rows: int, org: str, days: float, seed_value: int, batch: int, users: int
) -> None:
    """Insert ROWS synthetic requests for ORG into the store at DB."""
    key, seconds = asyncio.run(
        seed(db, rows, org=org, days=days, seed_value=seed_value, batch=batch, users=users)
    )
    click.echo(f"inserted {rows} requests for org {org!r} in {seconds:.1f}s")
    click.echo(key)


if __name__ == "__main__":
    main()
