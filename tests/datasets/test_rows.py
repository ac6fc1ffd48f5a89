"""Rows from logged requests (OpenAI chat, Anthropic messages) and rows as clients send them."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from relayscope.datasets.rows import from_record, output_text, row_changes, row_fields
from relayscope.errors import BadRequest
from relayscope.record import LogRecord


def record(request: object, response: object, path: str = "/v1/chat/completions") -> LogRecord:
    return LogRecord(
        id="r1",
        org_id="o",
        created_at=datetime.now(UTC),
        provider="openai",
        path=path,
        request_model="m",
        status=200,
        latency_ms=1.0,
        request_body=orjson.dumps(request).decode() if request is not None else None,
        response_body=orjson.dumps(response).decode() if response is not None else None,
    )


def test_an_openai_chat_becomes_its_messages_and_answer():
    row = from_record(
        record(
            {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            {"choices": [{"message": {"role": "assistant", "content": "hello"}}]},
        )
    )
    assert row is not None
    assert row.messages == [{"role": "user", "content": "hi"}]
    assert (row.output, row.request_id, row.model) == ("hello", "r1", "m")


def test_an_anthropic_system_prompt_becomes_the_first_message():
    row = from_record(
        record(
            {"system": "be brief", "messages": [{"role": "user", "content": "hi"}]},
            {"content": [{"type": "text", "text": "he"}, {"type": "text", "text": "llo"}]},
        )
    )
    assert row is not None
    assert row.messages[0] == {"role": "system", "content": "be brief"}
    assert row.output == "hello"


@pytest.mark.parametrize(
    "request_body",
    [None, {"input": "embed me"}, {"messages": []}, {"messages": ["not a message"]}, "text"],
)
def test_a_request_that_is_not_a_chat_gives_no_row(request_body):
    assert from_record(record(request_body, {"data": []})) is None


def test_an_unreadable_response_gives_no_output():
    assert output_text({"choices": []}) is None
    assert output_text("nope") is None


def test_client_rows_are_checked_field_by_field():
    assert row_fields({"messages": [{"role": "user", "content": "x"}]}).expected is None
    with pytest.raises(BadRequest, match=r"line 3: 'messages\[0\]'") as caught:
        row_fields({"messages": [{"content": "no role"}]}, "line 3: ")
    assert caught.value.param == "messages[0]"
    with pytest.raises(BadRequest, match="unknown field 'extra'"):
        row_fields({"messages": [{"role": "user"}], "extra": 1})
    with pytest.raises(BadRequest, match="'expected' must be a string"):
        row_fields({"messages": [{"role": "user"}], "expected": 4})
    assert row_changes({"expected": None}) == {"expected": None}
    with pytest.raises(BadRequest, match="at least one"):
        row_changes({})
