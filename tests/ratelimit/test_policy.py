"""The policy syntax: every accepted form, its normalised text, and every refusal."""

from __future__ import annotations

import pytest

from relayscope.ratelimit.policy import Policy, PolicyError, format_number, parse_policy


@pytest.mark.parametrize(
    ("text", "expected", "normalised"),
    [
        ("100;w=60", Policy(100, 60), "100;w=60;u=request"),
        (" 100 ; w = 60 ", Policy(100, 60), "100;w=60;u=request"),
        ("10;w=60;u=request", Policy(10, 60), "10;w=60;u=request"),
        ("10;w=60;u=request;s=user", Policy(10, 60, "request", "user"), "10;w=60;u=request;s=user"),
        ("0.5;w=3600;u=cents", Policy(0.5, 3600, "cents"), "0.5;w=3600;u=cents"),
        ("500;w=86400;u=cents;s=user", Policy(500, 86400, "cents", "user"), None),
        ("300;w=1800;s=Organization", Policy(300, 1800, "request", "organization"), None),
        ("5;W=1;U=CENTS", Policy(5, 1, "cents"), "5;w=1;u=cents"),
        ("5;w=31536000", Policy(5, 31_536_000), "5;w=31536000;u=request"),
        ("5;s=user;w=60", Policy(5, 60, "request", "user"), "5;w=60;u=request;s=user"),
        # The short form of Helicone's earlier proxy: u names the segment.
        ("100;w=3600;u=user", Policy(100, 3600, "request", "user"), "100;w=3600;u=request;s=user"),
        ("1000;w=86400;u=org", Policy(1000, 86400), "1000;w=86400;u=request"),
    ],
)
def test_accepted_policies(text, expected, normalised):
    policy = parse_policy(text)
    assert policy == expected
    if normalised is not None:
        assert str(policy) == normalised
    assert parse_policy(str(policy)) == policy, "the normalised text reads back the same"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected '<quota>;w=<seconds>"),
        (";w=60", "expected '<quota>;w=<seconds>"),
        ("abc;w=60", "quota 'abc' is not a number"),
        ("1e3;w=60", "quota '1e3' is not a number"),
        ("-5;w=60", "quota -5 must be positive"),
        ("0;w=60", "quota 0 must be positive"),
        ("0.0;w=60;u=cents", "quota 0.0 must be positive"),
        ("10.5;w=60", "must be a whole number of requests"),
        ("10", "missing the window"),
        ("10;u=cents", "missing the window"),
        ("10;w=0", "between 1 and 31536000 seconds"),
        ("10;w=-1", "between 1 and 31536000 seconds"),
        ("10;w=31536001", "between 1 and 31536000 seconds"),
        ("10;w=1.5", "is not a whole number of seconds"),
        ("10;w=soon", "is not a whole number of seconds"),
        ("10;w=60;u=tokens", "unknown unit u='tokens'"),
        ("10;w=60;x=1", "unknown parameter 'x'"),
        ("10;w=60;w=30", "parameter 'w' given twice"),
        ("10;w=60;;u=cents", "empty parameter"),
        ("10;w=60;", "empty parameter"),
        ("10;w", "is not of the form name=value"),
        ("10;w=", "is not of the form name=value"),
        ("10;w=60;u=user;s=tier", "u=user already names the segment"),
        ("10;w=60;u=org;s=user", "u=org already names the segment"),
        ("10;w=60;s=bad value", "is not a valid header name"),
        ("10;w=60;s=" + "a" * 129, "longer than 128 characters"),
        ("1;w=60;s=" + "a" * 1100, "longer than 1024 characters"),
        # 400 digits parse as float('inf'): int(inf) was an OverflowError (a 500).
        ("9" * 400 + ";w=60", "must be at most 1000000000000000"),
        ("2000000000000000;w=60;u=cents", "must be at most 1000000000000000"),
    ],
)
def test_refused_policies_say_what_is_wrong(text, problem):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert problem in str(caught.value)


def test_describe_reads_naturally():
    assert parse_policy("1;w=60").describe() == "1 request per 60 s"
    assert parse_policy("10;w=60;s=user").describe() == "10 requests per 60 s per user"
    assert parse_policy("2.5;w=5;u=cents;s=team").describe() == (
        "2.5 cents per 5 s per value of Helicone-Property-team"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(10.0, "10"), (0.25, "0.25"), (1e-7, "0.0000001"), (2 / 3, "0.666666666667")],
)
def test_numbers_print_without_exponent_or_trailing_zeros(value, text):
    assert format_number(value) == text
