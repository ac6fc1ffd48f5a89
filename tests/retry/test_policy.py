"""Backoff, Retry-After and the Helicone-Retry-* headers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from relayscope.errors import InvalidHeader
from relayscope.retry.policy import RetryPolicy, parse_retry_headers, retry_after_s


def test_backoff_grows_by_the_factor_and_stays_within_min_and_max():
    policy = RetryPolicy(retries=6, factor=2, min_timeout_ms=100, max_timeout_ms=1000)
    rng = random.Random(7)
    for retry, base in enumerate([100, 200, 400, 800, 1000, 1000]):
        delays = [policy.backoff_s(retry, rng) * 1000 for _ in range(200)]
        assert min(delays) >= max(100, base * 0.8) - 1e-9
        assert max(delays) <= min(1000, base * 1.2) + 1e-9
        if 100 < base < 1000:
            assert max(delays) - min(delays) > base * 0.2, "delays are jittered"


def test_retry_after_wins_over_backoff_but_is_capped_by_the_max_timeout():
    policy = RetryPolicy(min_timeout_ms=10, max_timeout_ms=2000)
    assert policy.delay_s(0, 1.5) == 1.5
    assert policy.delay_s(0, 30) == 2.0
    assert policy.delay_s(0, None) <= 0.012


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"retry-after", b"3")], 3.0),
        ([(b"Retry-After", b"0.5")], 0.5),
        ([(b"retry-after-ms", b"250"), (b"retry-after", b"9")], 0.25),
        ([(b"retry-after", b"soon")], None),
        ([(b"retry-after", b"-1")], None),
        ([], None),
    ],
)
def test_retry_after_in_seconds(headers, expected):
    assert retry_after_s(headers) == expected


def test_retry_after_as_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=7), usegmt=True).encode()
    assert retry_after_s([(b"retry-after", later)], now=now.timestamp()) == pytest.approx(7)
    earlier = format_datetime(now - timedelta(seconds=7), usegmt=True).encode()
    assert retry_after_s([(b"retry-after", earlier)], now=now.timestamp()) == 0


def test_headers_give_the_policy_with_helicone_defaults():
    assert parse_retry_headers({}) is None
    assert parse_retry_headers({"helicone-retry-enabled": "false"}) is None
    assert parse_retry_headers({"helicone-retry-enabled": "true"}) == RetryPolicy(
        retries=5, factor=2, min_timeout_ms=1000, max_timeout_ms=10000
    )
    policy = parse_retry_headers(
        {
            "helicone-retry-enabled": "TRUE",
            "helicone-retry-num": "3",
            "helicone-retry-factor": "1.5",
            "helicone-retry-min-timeout": "20",
            "helicone-retry-max-timeout": "40",
        }
    )
    assert policy == RetryPolicy(retries=3, factor=1.5, min_timeout_ms=20, max_timeout_ms=40)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Helicone-Retry-Enabled", "maybe"),
        ("Helicone-Retry-Num", "11"),
        ("Helicone-Retry-Num", "-1"),
        ("Helicone-Retry-Num", "2.5"),
        ("Helicone-Retry-Num", "9" * 310),  # was an OverflowError (a 500)
        ("Helicone-Retry-Factor", "inf"),
        ("Helicone-Retry-Factor", "0.5"),
        ("Helicone-Retry-Factor", "nan"),
        ("Helicone-Retry-Min-Timeout", "soon"),
        ("Helicone-Retry-Max-Timeout", "1"),
    ],
)
def test_bad_values_name_their_header(name, value):
    headers = {"helicone-retry-enabled": "true", "helicone-retry-min-timeout": "10"}
    headers[name.lower()] = value
    with pytest.raises(InvalidHeader) as caught:
        parse_retry_headers(headers)
    assert caught.value.param == name
