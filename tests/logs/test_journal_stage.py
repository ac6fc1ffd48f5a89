"""The logging stage journals a request before its response leaves, and the record
built from the journal after a crash is the record built without one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from relayscope.context import Context, ProxyResponse
from relayscope.logs.journal import Journal
from relayscope.logs.spool import Spool
from relayscope.logs.stage import (
    JOURNAL_OFF_LOOP_BYTES,
    LoggingStage,
    build_record,
    inputs_from_json,
    record_inputs,
)
from relayscope.logs.writer import LogWriter
from relayscope.retry.outcome import RetryOutcome
from relayscope.store.sql import SqlStore
from relayscope.testing.contexts import chat_context, respond_in_process
from relayscope.types import CallNext

ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Echo: hi"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }
)


@pytest.fixture
async def store(store_url):
    store = SqlStore(store_url)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "journal")
    journal.open()
    yield journal
    journal.close()


def journaled_ids(journal: Journal) -> list[str]:
    ids = []
    for path in sorted(journal.directory.glob("*.jsonl")):
        for line in path.read_bytes().rstrip(b"\0").splitlines():  # allocated in full
            entry = orjson.loads(line)
            if "request_id" in entry:
                ids.append(entry["request_id"])
    return ids


def request(**fields: object) -> Context:
    ctx = chat_context(request_id=str(uuid.uuid4()), **fields)
    return ctx


async def answer(ctx: Context) -> ProxyResponse:
    ctx.upstream_body.replace(ANSWER)
    return ProxyResponse(200, [], body=ANSWER)


def through(stage: LoggingStage, call_next: CallNext) -> CallNext:
    return lambda ctx: stage(ctx, call_next)


async def test_a_response_is_journaled_before_it_is_sent(store, journal, tmp_path):
    writer = LogWriter(store, Spool(tmp_path / "spool"), journal=journal)
    stage = LoggingStage(writer)
    small = request()
    sent = await respond_in_process(
        small, through(stage, answer), observe=lambda: journaled_ids(journal)
    )
    assert sent.body == ANSWER
    assert sent.observed == [[small.request_id]]

    # A large body is serialised on a worker thread, still before the body is sent.
    large = request(client_body=b'{"x": "' + b"a" * JOURNAL_OFF_LOOP_BYTES + b'"}')
    sent = await respond_in_process(
        large, through(stage, answer), observe=lambda: journaled_ids(journal)
    )
    assert sent.observed == [[small.request_id, large.request_id]]
    assert writer.queue_depth == 2


async def test_a_stream_is_journaled_before_its_end_is_sent(store, journal, tmp_path):
    stage = LoggingStage(LogWriter(store, Spool(tmp_path / "spool"), journal=journal))
    ctx = request()

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"data: {}\n\n", b"data: [DONE]\n\n"):
            ctx.upstream_body.add(chunk)
            yield chunk

    async def streamed(ctx: Context) -> ProxyResponse:
        ctx.upstream_stream = True
        return ProxyResponse(200, [], stream=chunks())

    sent = await respond_in_process(
        ctx, through(stage, streamed), observe=lambda: journaled_ids(journal)
    )
    # Not journaled while the chunks go out; journaled before the stream's end does.
    assert sent.chunks == [b"data: {}\n\n", b"data: [DONE]\n\n", b""]
    assert sent.observed == [[], [], [ctx.request_id]]


async def test_stored_records_are_released_from_the_journal(store, journal, tmp_path):
    writer = LogWriter(store, Spool(tmp_path / "spool"), journal=journal, flush_interval=0.01)
    stage = LoggingStage(writer)
    writer.start()
    try:
        for _ in range(5):
            await respond_in_process(request(), through(stage, answer))
        assert journal.pending == 5
        await writer.drain(timeout=10)
        assert journal.pending == 0
    finally:
        await writer.close()


async def test_the_record_built_from_the_journal_is_the_record_built_without(tmp_path):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "é\x00"}]}
    ctx = request(body=body)
    ctx.tags.user_id = "u-1"
    ctx.tags.properties = {"feature": "chat"}
    ctx.retry = RetryOutcome(fallback_index=0)
    ctx.retry.add(
        fallback_index=0,
        provider="openai",
        model="gpt-4o-mini",
        status=200,
        latency_ms=3.5,
        error=None,
    )
    stage = LoggingStage(LogWriter(None, Spool(tmp_path)))  # type: ignore[arg-type]
    await respond_in_process(ctx, through(stage, answer))
    inputs = record_inputs(ctx, 200, 12.5, None)
    replayed = inputs_from_json(orjson.loads(orjson.dumps(inputs)))
    assert replayed == inputs
    assert build_record(replayed) == build_record(inputs)
    assert build_record(replayed).cost_usd is not None
    assert build_record(replayed).attempts == [
        {
            "attempt": 1,
            "fallback_index": 0,
            "provider": "openai",
            "model": "gpt-4o-mini",
            "status": 200,
            "latency_ms": 3.5,
            "error": None,
        }
    ]


def test_a_journal_that_cannot_be_opened_journals_nothing_and_never_raises(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    journal = Journal(blocker / "journal")
    journal.open()
    assert not journal.enabled
    journal.append(("o", "r"), b"{}\n")
    assert journal.pending == 0
    assert journal.adopt() == []
    journal.close()
