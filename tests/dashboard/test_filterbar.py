"""The filter bar's one parser: the form's fields become the API's parameters, and
an API-style URL reads back into the same controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from starlette.datastructures import QueryParams

from relayscope.dashboard import filterbar
from relayscope.errors import BadRequest


def _canonical(query: str) -> list[tuple[str, str]] | None:
    found = filterbar.canonical(QueryParams(query))
    return None if found is None else parse_qsl(found)


def test_form_fields_become_api_parameters():
    assert _canonical("user_id.op=is&user_id=ADA&model.op=contains&model=4o") == [
        ("user_id.is", "ADA"),
        ("model.contains", "4o"),
    ]
    rows = (
        "prop_name.0=feature&prop_op.0=contains&prop_value.0=Check"
        "&prop_name.1=tier&prop_value.1=gold"
    )
    assert _canonical(rows) == [
        ("property_contains.feature", "Check"),
        ("property_is.tier", "gold"),
    ]
    # A row without its value (dropped as empty) or a match choice alone says nothing.
    assert _canonical("prop_name.0=feature&prop_op.0=is&user_id.op=contains&limit=25") == [
        ("limit", "25")
    ]
    # A preset wins over custom bounds left in the form; "custom" itself is implied.
    assert _canonical("range=7d&from=2026-01-01T00:00") == [("range", "7d")]
    assert _canonical("range=custom&from=2026-01-01T00:00") == [("from", "2026-01-01T00:00")]


def test_api_urls_are_already_canonical():
    for query in ("user_id=ada", "user_id.contains=ad&range=24h", "property_is.feature=x", ""):
        assert _canonical(query) is None


def test_a_bad_match_choice_is_a_400():
    with pytest.raises(BadRequest) as raised:
        _canonical("user_id.op=like&user_id=x")
    assert raised.value.param == "user_id.op"


def test_the_bar_reads_a_url_back():
    query = QueryParams(
        "user_id=carol&model.contains=4o&property.tier=gold&property_contains.feature=chk"
        "&status=error&score.accuracy=gte:0.5&from=2026-04-01T10:00:00Z&cursor=abc"
    )
    bar = filterbar.bar(query, own={"status", "score.", "cursor"}, any_time=True)
    texts = {t.name: (t.op, t.value) for t in bar.texts}
    assert texts["user_id"] == ("is", "carol") and texts["model"] == ("contains", "4o")
    assert texts["prompt_id"] == ("is", "")
    assert [(p.name, p.op, p.value) for p in bar.properties] == [
        ("tier", "is", "gold"),
        ("feature", "contains", "chk"),
        ("", "is", ""),
    ]
    assert bar.range == "custom" and bar.since == "2026-04-01T10:00:00" and bar.until == ""
    assert bar.hidden == []  # status, score and cursor are the page's own
    other = filterbar.bar(QueryParams("session_id=s1&range=7d"), own=set(), any_time=False)
    assert other.hidden == [("session_id", "s1")] and other.range == "7d"
    assert filterbar.bar(QueryParams(""), own=set(), any_time=False).range == "24h"
    assert filterbar.bar(QueryParams(""), own=set(), any_time=True).range == ""


def test_the_analytics_window_of_a_preset_or_custom_bounds():
    since_text, until_text, label = filterbar.window(QueryParams("range=7d"))
    span = datetime.fromisoformat(until_text) - datetime.fromisoformat(since_text)
    assert span == timedelta(days=7) and label == "7d"
    since_text, _until, label = filterbar.window(QueryParams(""), default="1h")
    assert label == "1h" and datetime.fromisoformat(since_text) < datetime.now(UTC)
    custom = filterbar.window(QueryParams("from=2026-04-01T00:00:00&to=2026-04-02T00:00:00"))
    assert custom == ("2026-04-01T00:00:00+00:00", "2026-04-02T00:00:00+00:00", "custom")
    with pytest.raises(BadRequest) as raised:
        filterbar.window(QueryParams("range=2d"))
    assert raised.value.param == "range"
