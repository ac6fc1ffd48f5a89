"""The dashboard's number filters: each kind of quantity is written one way, and
no template formats a number by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from relayscope.dashboard import formatting as fmt
from relayscope.dashboard.render import TEMPLATES, environment

DASH = fmt.MISSING


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, DASH),
        (0, "$0"),
        (0.000123, "$0.000123"),
        (0.0123, "$0.0123"),
        (12.5, "$12.5000"),
        (1234.567, "$1,234.57"),
    ],
)
def test_costs(value, shown):
    assert fmt.usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, DASH), (0.0, "0.0 ms"), (8.49, "8.5 ms"), (240.4, "240 ms"), (1250, "1.25 s")],
)
def test_latency_in_ms_then_seconds(value, shown):
    assert fmt.ms(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, DASH), (0, "0"), (999, "999"), (1234567, "1,234,567"), (2.0, "2"), (2.5, "2.50")],
)
def test_numbers_and_tokens_have_thousands_separators(value, shown):
    assert fmt.number(value) == shown
    assert fmt.tokens(value) == shown


def test_counts_name_their_noun():
    assert fmt.count(1, "request") == "1 request"
    assert fmt.count(0, "request") == "0 requests"
    assert fmt.count(1234, "request") == "1,234 requests"
    assert fmt.count(2, "entry", "entries") == "2 entries"
    assert fmt.count(None, "request") == DASH


@pytest.mark.parametrize(
    ("value", "shown"), [(None, DASH), (0, "0.0%"), (0.1234, "12.3%"), (1, "100.0%")]
)
def test_percentages(value, shown):
    assert fmt.percent(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [(None, DASH), (1.0, "1"), (0.8, "0.8"), (0.91666, "0.917"), (10, "10")]
)
def test_scores(value, shown):
    assert fmt.score(value) == shown


def test_times_in_utc():
    moment = datetime(2026, 4, 1, 9, 5, 7, tzinfo=UTC)
    assert fmt.when(moment) == "2026-04-01 09:05:07 UTC"
    assert fmt.when(moment.isoformat()) == "2026-04-01 09:05:07 UTC"


def test_every_filter_is_registered_for_the_templates():
    for name, function in fmt.FILTERS.items():
        assert environment.filters[name] is function


# A number formatted in a template by Python's % or Jinja's round bypasses the filters.
_BY_HAND = re.compile(
    r"""["'][^"']*%[-+ 0#]*\d*(\.\d+)?[dfgeE][^"']*["']\s*\|\s*format|\|\s*round"""
)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_formats_a_number_by_hand(template):
    text = (TEMPLATES / template).read_text()
    assert not _BY_HAND.search(text), f"{template} formats a number itself; use a filter"
