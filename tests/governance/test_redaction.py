from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relayscope.governance.redaction import (
    RedactionRules,
    Redactor,
    Rule,
    redact_record,
    validate,
)
from relayscope.record import LogRecord


def redact(text: str, *rules: Rule) -> str:
    return Redactor(rules)(text)


def detector(name: str) -> Rule:
    return Rule(id=name, kind="detector", value=name)


def test_email_phone_card_and_keys_are_redacted():
    text = (
        "mail jane.doe+x@example.co.uk, call +44 20 7946 0958, "
        "card 4111 1111 1111 1111, key sk-proj-abcdefghijklmnop1234 and AKIAIOSFODNN7EXAMPLE"
    )
    out = redact(text, *(detector(d) for d in ("email", "phone", "card", "api_key")))
    for secret in ("jane.doe", "7946", "4111 1111", "sk-proj-", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in out
    assert out.count("[REDACTED]") == 5


def test_card_detector_needs_a_valid_luhn_checksum():
    assert redact("order 4111 1111 1111 1112", detector("card")) == "order 4111 1111 1111 1112"


def test_custom_pattern_and_replacement():
    rule = Rule(id="r", kind="pattern", value=r"ACME-\d{4}", replacement="<ticket>")
    assert redact("see ACME-1234 and ACME-99", rule) == "see <ticket> and ACME-99"


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("detector", "ssn", "unknown detector"),
        ("pattern", "(", "not a valid regular expression"),
        ("pattern", "a{4294967296}", "not a usable regular expression"),
        ("pattern", "(" * 499, "not a usable regular expression"),
        ("pattern", "", "1 to 500"),
        ("regex", "x", "kind must be"),
    ],
)
def test_invalid_rules(kind, value, problem):
    assert problem in validate(kind, value)


def test_rules_are_per_org():
    rules = RedactionRules()
    rules.replace([("a", detector("email"))])
    assert rules.for_org("a")("x@y.io") == "[REDACTED]"
    assert rules.for_org("b") is None


def test_a_record_is_redacted_in_every_field_that_holds_user_content():
    mail = "ann@example.org"
    record = LogRecord(
        id="r",
        org_id="o",
        created_at=datetime.now(UTC),
        provider="openai",
        path="/v1/chat/completions",
        status=400,
        latency_ms=1.0,
        user_id="user-7",
        session_id="s-7",
        properties={"to": mail},
        request_name=mail,
        session_name=mail,
        prompt_variables={"who": mail, "list": [mail, 3, {"deep": mail}], "n": 1},
        attempts=[{"attempt": 1, "error": mail}, {"attempt": 2, "error": None}],
        error=f"bad input {mail}",
        request_body=mail,
        response_body=mail,
    )
    redact_record(record, Redactor([Rule("1", "detector", "email")]))
    assert mail not in repr(record)
    assert record.prompt_variables == {
        "who": "[REDACTED]",
        "list": ["[REDACTED]", 3, {"deep": "[REDACTED]"}],
        "n": 1,
    }
    assert record.attempts == [
        {"attempt": 1, "error": "[REDACTED]"},
        {"attempt": 2, "error": None},
    ]
    assert (record.user_id, record.session_id) == ("user-7", "s-7"), "ids are kept"
