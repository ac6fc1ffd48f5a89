"""JSONL: what ``export`` writes ``parse`` reads back; a bad line is named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relayscope.datasets import jsonl
from relayscope.datasets.repository import Row
from relayscope.errors import BadRequest


def test_export_then_parse_keeps_every_field():
    rows = [
        Row(
            "1",
            "d",
            0,
            [{"role": "user", "content": "ünï"}],
            "out",
            "exp",
            "req",
            "m",
            datetime.now(UTC),
        ),
        Row(
            "2",
            "d",
            1,
            [{"role": "user", "content": [{"type": "text", "text": "x"}]}],
            None,
            None,
            None,
            None,
            datetime.now(UTC),
        ),
    ]
    parsed = jsonl.parse(jsonl.export(rows))
    assert [(p.messages, p.output, p.expected, p.request_id, p.model) for p in parsed] == [
        (r.messages, r.output, r.expected, r.request_id, r.model) for r in rows
    ]


def test_blank_lines_are_skipped_and_a_bad_line_is_named():
    good = b'{"messages": [{"role": "user", "content": "a"}]}'
    assert len(jsonl.parse(good + b"\n\n" + good + b"\n")) == 2
    with pytest.raises(BadRequest) as caught:
        jsonl.parse(good + b"\n\n[1, 2]\n")
    assert caught.value.param == "line 3" and caught.value.message.startswith("line 3: ")
    with pytest.raises(BadRequest, match="line 1: not valid JSON"):
        jsonl.parse(b"{nope")
