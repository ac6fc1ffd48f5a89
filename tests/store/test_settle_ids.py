"""``settle_ids``: which records a store inserts, and under which id."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

from relayscope.record import LogRecord
from relayscope.store.base import replacement_ids, settle_ids


def proxied(request_id: str, record_uid: str | None) -> LogRecord:
    return LogRecord(
        id=request_id,
        org_id="o",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        provider="openai",
        path="/v1/x",
        status=200,
        latency_ms=1.0,
        record_uid=record_uid,
    )


def test_a_taken_replacement_id_moves_on_and_replays_end_on_the_same_id():
    """A client may send, as its own id, the id the gateway would give a repeat: the
    repeat then takes the next replacement id, the same one on every replay."""
    chosen, uid = str(uuid.uuid4()), str(uuid.uuid4())
    taken = {("o", chosen): "another request", ("o", uid): "a client that sent uid"}
    first, second = itertools.islice(replacement_ids(uid), 2)
    assert first == uid and second != uid

    repeat = proxied(chosen, uid)
    assert settle_ids([repeat], taken) == [repeat]
    assert repeat.id == second
    assert repeat.warnings == [
        f"Helicone-Request-Id: {chosen} was already used by another request of this org; "
        f"this request is logged as {second}"
    ]
    stored = {**taken, ("o", second): uid}
    assert settle_ids([proxied(chosen, uid)], stored) == [], "a replay as first sent"
    assert settle_ids([repeat], stored) == [], "a replay as renamed"


def test_in_one_batch_copies_are_dropped_and_repeats_renamed():
    chosen = str(uuid.uuid4())
    one, two = proxied(chosen, str(uuid.uuid4())), proxied(chosen, str(uuid.uuid4()))
    legacy = proxied(chosen, None)
    settled = settle_ids([one, proxied(chosen, one.record_uid), two, legacy], {})
    assert settled == [one, two]
    assert (one.id, two.id) == (chosen, two.record_uid)
    assert one.warnings == [] and len(two.warnings) == 1
