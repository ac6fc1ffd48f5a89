from __future__ import annotations

import uuid

import pytest

from relayscope.errors import InvalidHeader
from relayscope.proxy.tags import client_request_id, parse_tags


def test_all_tags_parse():
    tags = parse_tags(
        {
            "helicone-user-id": "u1",
            "helicone-session-id": "s1",
            "helicone-session-path": "/a/b",
            "helicone-session-name": "Name",
            "helicone-request-name": "rn",
            "helicone-property-feature": "x",
        }
    )
    assert (tags.user_id, tags.session_id, tags.session_path, tags.session_name) == (
        "u1",
        "s1",
        "/a/b",
        "Name",
    )
    assert tags.properties == {"feature": "x", "helicone-request-name": "rn"}


def test_unicode_values_are_kept():
    assert parse_tags({"helicone-user-id": "zoë"}).user_id == "zoë"


@pytest.mark.parametrize(
    "headers",
    [
        {"helicone-user-id": "a\x00b"},
        {"helicone-user-id": "x" * 257},
        {"helicone-session-path": "relative"},
        {"helicone-property-": "x"},
        {f"helicone-property-p{i}": "v" for i in range(65)},
    ],
)
def test_invalid_tags(headers):
    with pytest.raises(InvalidHeader):
        parse_tags(headers)


def test_request_id():
    chosen = uuid.uuid4()
    assert client_request_id({"helicone-request-id": str(chosen).upper()}) == str(chosen)
    assert client_request_id({}) is None
    with pytest.raises(InvalidHeader, match="Helicone-Request-Id"):
        client_request_id({"helicone-request-id": "123"})
