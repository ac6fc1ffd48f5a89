"""Every log store keeps the same promises: SQLite, Postgres, and ClickHouse (chDB engine)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from relayscope.record import LogRecord
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.logs import open_log_store

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make(org_id: str, minute: float, **fields) -> LogRecord:
    values = {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "created_at": BASE + timedelta(minutes=minute),
        "provider": "openai",
        "path": "/openai/v1/chat/completions",
        "request_model": "gpt-4o-mini",
        "status": 200,
        "latency_ms": 12.5,
        "request_body": '{"q": 1}',
        "response_body": '{"a": 2}',
    }
    values.update(fields)
    return LogRecord(**values)


@pytest.fixture(params=["sql", "clickhouse"])
async def logs(request, store_url, tmp_path):
    url = store_url if request.param == "sql" else f"chdb://{tmp_path}/chdb"
    store: LogStore = open_log_store(url)
    await store.migrate()
    yield store
    await store.close()


async def test_records_round_trip_exactly(logs):
    full = make(
        "o1",
        0.000123,
        key_id="k",
        response_model="gpt-4o-mini-2024-07-18",
        ttft_ms=3.25,
        prompt_tokens=11,
        completion_tokens=7,
        total_tokens=18,
        cache_read_tokens=2,
        cost_usd=0.00012,
        user_id="alice",
        session_id="s1",
        session_path="/a/b",
        session_name="trip",
        properties={"feature": "chat", "ünïcode": "✓ 'quoted'"},
        request_name="nightly",
        stream=True,
        cache_hit=True,
        cache_source_id="src",
        cache_similarity=0.97,
        cost_saved_usd=0.5,
        rate_limited=True,
        attempts=[{"status": 500, "target": "openai"}, {"status": 200}],
        fallback_index=1,
        prompt_id="greet",
        prompt_version=3,
        prompt_variables={"name": "Ada", "n": 2},
        error="boom",
    )
    assert await logs.insert_requests([full, make("o1", 1)]) == 2
    assert await logs.get_request("o1", full.id) == full
    assert await logs.get_request("o2", full.id) is None, "another org's id is not found"


async def test_a_replayed_batch_is_skipped_not_duplicated(logs):
    batch = [make("o1", i) for i in range(5)]
    assert await logs.insert_requests(batch[:3]) == 3
    assert await logs.insert_requests(batch) == 2
    assert await logs.insert_requests(batch) == 0
    assert await logs.count_requests("o1") == 5
    page = await logs.list_requests("o1", RequestFilter(), limit=100, cursor=None)
    assert [r.id for r in page.records] == [r.id for r in reversed(batch)]


def proxied(org_id: str, minute: float, request_id: str | None = None, **fields) -> LogRecord:
    """A record as the proxy makes it: its own record_uid, and the client's id if it chose one."""
    uid = str(uuid.uuid4())
    return make(org_id, minute, id=request_id or uid, record_uid=uid, **fields)


def as_sent(record: LogRecord) -> LogRecord:
    """A copy of ``record`` as the writer first had it (before any store renamed it)."""
    return replace(record, warnings=list(record.warnings))


async def test_requests_reusing_an_id_in_one_org_are_each_stored_once(logs):
    """A client may reuse Helicone-Request-Id: every request keeps a record (the
    repeats under new ids, with a warning), and replays of any of them add nothing."""
    shared = str(uuid.uuid4())
    first = proxied("o1", 0, shared, user_id="first")
    same_batch = proxied("o1", 1, shared, user_id="same batch")
    others = [proxied("o1", 2 + i) for i in range(250)]  # more rows than one SQLite statement
    later = proxied("o1", 300, shared, user_id="later")
    copies = [as_sent(r) for r in (first, same_batch, later)]

    assert await logs.insert_requests([first, *others, same_batch]) == 252
    assert await logs.insert_requests([later]) == 1
    assert await logs.count_requests("o1") == 253
    original = await logs.get_request("o1", shared)
    assert original is not None and original.user_id == "first" and original.warnings == []
    for repeat in (same_batch, later):
        assert repeat.id == repeat.record_uid != shared
        stored = await logs.get_request("o1", repeat.id)
        assert stored is not None and stored.user_id == repeat.user_id
        assert stored.warnings == [
            f"Helicone-Request-Id: {shared} was already used by another request of this org; "
            f"this request is logged as {repeat.id}"
        ]

    # The spool or a retried write may bring back any of them, renamed or as first sent.
    assert await logs.insert_requests([*copies, first, same_batch, later]) == 0
    assert await logs.count_requests("o1") == 253


async def test_the_same_id_in_two_orgs_is_two_records(logs):
    shared, in_one_batch = str(uuid.uuid4()), str(uuid.uuid4())
    assert await logs.insert_requests([make("ob", 0, id=shared, user_id="b")]) == 1
    assert await logs.insert_requests([make("oa", 1, id=shared, user_id="a")]) == 1
    both = [make(org, 2, id=in_one_batch, user_id=org) for org in ("oa", "ob")]
    assert await logs.insert_requests(both) == 2
    for org, user in (("oa", "a"), ("ob", "b")):
        assert await logs.count_requests(org) == 2
        stored = await logs.get_request(org, shared)
        assert stored is not None and stored.user_id == user and stored.warnings == []
        stored = await logs.get_request(org, in_one_batch)
        assert stored is not None and stored.user_id == org


async def test_a_record_without_record_uid_is_stored_once(logs):
    """Records from before record_uid (old spool files, exports of older stores):
    an id already stored means a replay, as it always did."""
    first = make("o1", 0, user_id="first")
    again = make("o1", 1, id=first.id, user_id="again")
    assert await logs.insert_requests([first, again]) == 1
    assert await logs.insert_requests([again]) == 0
    stored = await logs.get_request("o1", first.id)
    assert stored is not None and stored.user_id == "first"


async def test_filters_select_the_same_records_everywhere(logs):
    o = "o1"
    records = {
        "alice": make(o, 0, user_id="alice", properties={"feature": "search"}),
        "bob_s1": make(o, 1, user_id="bob", session_id="s1", properties={"feature": "chat"}),
        "failed": make(o, 2, user_id="alice", status=500, error="boom"),
        "claude": make(o, 3, provider="anthropic", request_model="claude-3-5-haiku-latest"),
        "named": make(o, 4, request_name="nightly", properties={"feature": "chat", "tier": "gold"}),
        "prompt": make(o, 5, status=429, prompt_id="greet", prompt_version=2),
        "resp_model": make(o, 6, request_model=None, response_model="gpt-4o"),
        "other_org": make("o2", 7, user_id="alice"),
    }
    await logs.insert_requests(list(records.values()))

    async def names(**kwargs) -> set[str]:
        page = await logs.list_requests(o, RequestFilter(**kwargs), limit=100, cursor=None)
        found = {r.id for r in page.records}
        return {name for name, r in records.items() if r.id in found}

    assert await names(user_id="alice") == {"alice", "failed"}
    assert await names(session_id="s1") == {"bob_s1"}
    assert await names(provider="anthropic") == {"claude"}
    assert await names(model="gpt-4o") == {"resp_model"}
    assert await names(status="error") == {"failed", "prompt"}
    assert await names(status=429) == {"prompt"}
    assert len(await names(status="success")) == 5
    assert await names(request_name="nightly") == {"named"}
    assert await names(prompt_id="greet", prompt_version=2) == {"prompt"}
    assert await names(properties=(("feature", "chat"),)) == {"bob_s1", "named"}
    assert await names(properties=(("feature", "chat"), ("tier", "gold"))) == {"named"}
    assert await names(properties=(("feature", "nope"),)) == set()
    window = await names(since=BASE + timedelta(minutes=1), until=BASE + timedelta(minutes=3))
    assert window == {"bob_s1", "failed"}


async def test_cursor_pages_through_ties_in_order(logs):
    same_time = [make("o1", 0) for _ in range(4)]
    later = [make("o1", 1) for _ in range(3)]
    await logs.insert_requests(same_time + later)
    expected = sorted(later, key=lambda r: r.id, reverse=True) + sorted(
        same_time, key=lambda r: r.id, reverse=True
    )
    seen, cursor = [], None
    while True:
        page = await logs.list_requests("o1", RequestFilter(), limit=3, cursor=cursor)
        seen += [r.id for r in page.records]
        assert all(r.request_body is None for r in page.records), "lists leave bodies out"
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [r.id for r in expected]
