"""The soak's "no record counted twice" check can fail: it reads what inserts compute
(the summary's rollups, the explorer's pages), not stored ids, which cannot repeat."""

from __future__ import annotations

from bench.soakreport import counted_once, records
from bench.soakstore import StoredRow


def stored(*ids: str) -> list[StoredRow]:
    return [StoredRow(i, 200, False, False) for i in ids]


def check(api: dict | None) -> bool:
    rows = [{"rid": i, "hid": i, "outcome": "ok", "fault": None} for i in "abc"]
    live = stored("a", "b", "c")
    return counted_once(records(rows, {"a", "b", "c"}, {"a", "b", "c"}, live, live, api))


def test_counted_once_only_when_rollups_and_pages_agree_with_the_store():
    assert check({"summary_requests": 3, "listed": ["c", "b", "a"]})
    assert not check({"summary_requests": 4, "listed": ["c", "b", "a"]}), "a replay counted twice"
    assert not check({"summary_requests": 3, "listed": ["c", "b", "b", "a"]}), "listed twice"
    assert not check({"summary_requests": 3, "listed": ["c", "b"]}), "a record not listed"
    assert not check(None), "not read: not shown"
