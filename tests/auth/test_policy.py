"""A virtual key's checks, one rule at a time."""

from __future__ import annotations

import pytest

from relayscope.auth.policy import Globs, KeyPolicy, parse_network


def test_globs_match_whole_names_case_sensitively():
    globs = Globs(["gpt-4o*", "claude-3-?-haiku*"])
    assert globs.allows("gpt-4o") and globs.allows("gpt-4o-mini")
    assert globs.allows("claude-3-5-haiku-20241022")
    assert not globs.allows("my-gpt-4o") and not globs.allows("GPT-4o")
    assert Globs([]).allows("anything")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("::ffff:10.1.2.3", True),  # IPv4 as a dual-stack socket reports it
        ("2001:db8::1", True),
        ("11.0.0.1", False),
        ("2001:db9::1", False),
        ("not an address", False),
        (None, False),
    ],
)
def test_the_address_allowlist(address, allowed):
    policy = KeyPolicy(networks=(parse_network("10.0.0.0/8"), parse_network("2001:db8::/32")))
    refusal = policy.address_refusal(address)
    assert (refusal is None) is allowed
    if refusal is not None:
        assert (refusal.status, refusal.code) == (403, "ip_not_allowed")


def test_no_allowlist_allows_any_address():
    assert KeyPolicy().address_refusal(None) is None


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ({"max_tokens": 100}, False),
        ({"max_tokens": 101}, True),
        ({"max_completion_tokens": 1e9}, True),
        ({"max_output_tokens": 101}, True),
        ({"max_tokens": True}, False),  # not a number: the provider refuses it
        ({}, False),
        (["max_tokens", 500], False),
    ],
)
def test_every_token_limit_field_is_checked(body, refused):
    refusal = KeyPolicy(max_tokens=100).tokens_refusal(body)
    assert (refusal is not None) is refused


def test_a_model_scope_refuses_a_request_that_names_no_model():
    refusal = KeyPolicy(models=Globs(["gpt-4o"])).model_refusal(None)
    assert refusal is not None and refusal.code == "model_not_allowed"
    assert KeyPolicy().model_refusal(None) is None


def test_expiry_and_rotation_grace_are_401_key_expired():
    assert KeyPolicy(expires_at=100.0).time_refusal(99.9) is None
    expired = KeyPolicy(expires_at=100.0).time_refusal(100.0)
    assert expired is not None and (expired.status, expired.code) == (401, "key_expired")
    retired = KeyPolicy(retired_at=50.0).time_refusal(50.0)
    assert retired is not None and "rotated" in retired.message


def test_credentials_stay_out_of_the_repr():
    assert "sk-secret" not in repr(KeyPolicy(credentials={"openai": "sk-secret"}))
