"""The deterministic evaluators, kind by kind, with their edge cases."""

from __future__ import annotations

import pytest

from relayscope.errors import BadRequest
from relayscope.evaluators import spec
from relayscope.evaluators.model import Failed, Run, Scored, Subject

RUN = Run("org", "evaluator-id", "evaluator")


def subject(
    output: str = "", *, input: str = "", latency_ms: float = 100.0, cost: float | None = 0.01
) -> Subject:
    return Subject("req", input, output, latency_ms, cost)


async def verdict(kind: str, config: dict[str, object], s: Subject) -> object:
    outcome = await spec.check(kind, config).evaluate(s, RUN)
    return outcome.value if isinstance(outcome, Scored) else outcome


@pytest.mark.parametrize(
    ("config", "output", "expected"),
    [
        ({"pattern": r"\d{3}-\d{4}"}, "call 555-1234", True),
        ({"pattern": r"\d{3}-\d{4}"}, "no number", False),
        ({"pattern": r"\d{3}-\d{4}", "expect": "no_match"}, "call 555-1234", False),
        ({"pattern": r"\d{3}-\d{4}", "expect": "no_match"}, "no number", True),
        ({"pattern": "^Sure"}, "sure thing", False),
        ({"pattern": "^Sure", "ignore_case": True}, "sure thing", True),
        ({"pattern": "^$"}, "", True),
        ({"pattern": "é+"}, "café", True),
        ({"pattern": r"\d{4}-\d{2}-\d{2}"}, "due 2026-12-03", True),
        ({"pattern": r"\{\d{1,9999}\}"}, "{12}", True),  # escaped braces are no repeat
    ],
)
async def test_regex(config, output, expected):
    assert await verdict("regex", config, subject(output)) is expected


async def test_regex_reads_the_input_when_asked():
    s = subject("the answer", input="my SSN is 123-45-6789")
    config = {"pattern": r"\d{3}-\d{2}-\d{4}", "field": "input"}
    assert await verdict("regex", config, s) is True
    assert await verdict("regex", {"pattern": r"\d{3}-\d{2}-\d{4}"}, s) is False


async def test_a_catastrophic_regex_fails_the_evaluation_in_bounded_time():
    # Nested quantifiers on a long near-match: Python's re would run for ages.
    check = spec.check("regex", {"pattern": r"^(a|aa)+$"})
    outcome = await check.evaluate(subject("a" * 5000 + "!"), RUN)
    assert isinstance(outcome, Failed)
    assert "took more than" in outcome.reason


@pytest.mark.parametrize(
    ("config", "output", "expected"),
    [
        ({"text": "refund"}, "We issued a Refund.", True),
        ({"text": "refund", "case_sensitive": True}, "We issued a Refund.", False),
        ({"text": "Refund", "case_sensitive": True}, "We issued a Refund.", True),
        ({"text": "sorry", "expect": "no_match"}, "Sorry, I cannot.", False),
        ({"text": "sorry", "expect": "no_match"}, "Here you go.", True),
        ({"text": "STRASSE"}, "straße", True),  # casefold, not lower
        ({"text": "x"}, "", False),
    ],
)
async def test_contains(config, output, expected):
    assert await verdict("contains", config, subject(output)) is expected


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "pattern": "^[A-Z]"}, "age": {"type": "integer"}},
    "required": ["name"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"name": "Ada", "age": 36}', True),
        ('{"name": "ada"}', False),  # pattern
        ('{"age": 36}', False),  # required
        ('{"name": "Ada", "extra": 1}', False),
        ('{"name": "Ada", "age": "36"}', False),
        ("not json at all", False),
        ("", False),
        ('```json\n{"name": "Ada"}\n```', True),  # a fenced block is read
        ('[{"name": "Ada"}]', False),
    ],
)
async def test_json_schema(output, expected):
    assert await verdict("json_schema", {"schema": SCHEMA}, subject(output)) is expected


async def test_a_schema_pattern_is_bounded_like_a_regex_evaluator():
    schema = {"type": "string", "pattern": "^(a|aa)+$"}
    outcome = await spec.check("json_schema", {"schema": schema}).evaluate(
        subject('"' + "a" * 5000 + '!"'), RUN
    )
    assert isinstance(outcome, Failed)


async def test_pattern_properties_are_bounded_too():
    schema = {"type": "object", "patternProperties": {"^x": {"type": "integer"}}}
    check = spec.check("json_schema", {"schema": schema})
    assert (await check.evaluate(subject('{"xa": 1}'), RUN)) == Scored(True)
    assert (await check.evaluate(subject('{"xa": "one"}'), RUN)) == Scored(False)


@pytest.mark.parametrize(
    ("config", "output", "expected"),
    [
        ({"min": 3}, "abc", True),
        ({"min": 3}, "ab", False),
        ({"max": 3}, "abc", True),
        ({"max": 3}, "abcd", False),
        ({"min": 1, "max": 1}, "a", True),
        ({"min": 0, "max": 0}, "", True),
        ({"min": 1}, "", False),
    ],
)
async def test_length(config, output, expected):
    assert await verdict("length", config, subject(output)) is expected


@pytest.mark.parametrize(
    ("config", "latency", "expected"),
    [
        ({"max_ms": 500}, 499.9, True),
        ({"max_ms": 500}, 500.0, True),
        ({"max_ms": 500}, 500.1, False),
        ({"min_ms": 10, "max_ms": 500}, 5, False),
    ],
)
async def test_latency(config, latency, expected):
    assert await verdict("latency", config, subject(latency_ms=latency)) is expected


async def test_cost():
    assert await verdict("cost", {"max_usd": 0.01}, subject(cost=0.01)) is True
    assert await verdict("cost", {"max_usd": 0.01}, subject(cost=0.0100001)) is False
    unpriced = await verdict("cost", {"max_usd": 0.01}, subject(cost=None))
    assert isinstance(unpriced, Failed) and "no price" in unpriced.reason


@pytest.mark.parametrize(
    ("kind", "config", "param"),
    [
        ("regex", {"pattern": "("}, "config.pattern"),
        ("regex", {"pattern": "[a-"}, "config.pattern"),
        ("regex", {"pattern": ""}, "config.pattern"),
        ("regex", {"pattern": 5}, "config.pattern"),
        ("regex", {"pattern": "a" * 1001}, "config.pattern"),
        ("regex", {"pattern": "(a{1000}){1000}"}, "config.pattern"),  # seconds to compile
        ("regex", {"pattern": "a{100001}"}, "config.pattern"),
        ("regex", {"pattern": r"(\\{1000}){1000}"}, "config.pattern"),  # escaped backslash
        ("regex", {"pattern": "a", "expect": "maybe"}, "config.expect"),
        ("regex", {"pattern": "a", "field": "body"}, "config.field"),
        ("regex", {"pattern": "a", "ignore_case": "yes"}, "config.ignore_case"),
        ("regex", {"pattern": "a", "flags": "i"}, "config.flags"),
        ("contains", {}, "config.text"),
        ("contains", {"text": ""}, "config.text"),
        ("json_schema", {}, "config.schema"),
        ("json_schema", {"schema": "string"}, "config.schema"),
        ("json_schema", {"schema": {"type": "strin"}}, "config.schema"),
        ("json_schema", {"schema": {"type": "string", "pattern": "(("}}, "config.schema"),
        ("json_schema", {"schema": {"patternProperties": {"((": {}}}}, "config.schema"),
        ("length", {}, "config.max"),
        ("length", {"min": 5, "max": 2}, "config.min"),
        ("length", {"min": -1}, "config.min"),
        ("length", {"min": 1.5}, "config.min"),
        ("length", {"max": True}, "config.max"),
        ("latency", {"max_ms": float("nan")}, "config.max_ms"),
        ("latency", {"max_ms": "fast"}, "config.max_ms"),
        ("cost", {}, "config.max_usd"),
        ("cost", {"max_usd": -0.5}, "config.max_usd"),
        ("llm_judge", {"model": "m"}, "config.prompt"),
        ("llm_judge", {"prompt": "{{output}}"}, "config.model"),
        ("llm_judge", {"model": "m", "prompt": "grade this"}, "config.prompt"),
        ("llm_judge", {"model": "m", "prompt": "{{output}} {{secret}}"}, "config.prompt"),
        (
            "llm_judge",
            {"model": "m", "prompt": "{{output}}", "provider": "azure"},
            "config.provider",
        ),
        ("llm_judge", {"model": "m", "prompt": "{{output}}", "scale": "stars"}, "config.scale"),
        ("llm_judge", {"model": "m", "prompt": "{{output}}", "min": 1}, "config.min"),
        (
            "llm_judge",
            {"model": "m", "prompt": "{{output}}", "scale": "number", "min": 5, "max": 1},
            "config.min",
        ),
        ("llm_judge", {"model": "m", "prompt": "{{output}}", "max_tokens": 0}, "config.max_tokens"),
        (
            "llm_judge",
            {"model": "m", "prompt": "{{output}}", "max_tokens": 99999},
            "config.max_tokens",
        ),
    ],
)
def test_bad_settings_are_refused_at_creation_naming_the_field(kind, config, param):
    with pytest.raises(BadRequest) as refused:
        spec.check(kind, config)
    assert refused.value.param == param


def test_a_config_round_trips_through_what_the_api_shows():
    configs = {
        "regex": {"pattern": "a+", "expect": "no_match", "field": "input", "ignore_case": True},
        "contains": {"text": "x", "expect": "match", "field": "output", "case_sensitive": True},
        "json_schema": {"schema": SCHEMA},
        "length": {"min": 1, "max": None, "field": "output"},
        "latency": {"min_ms": None, "max_ms": 200.0},
        "cost": {"min_usd": None, "max_usd": 0.5},
        "llm_judge": {
            "model": "gpt-4o-mini",
            "provider": "openai",
            "prompt": "Q: {{input}} A: {{output}}",
            "system": None,
            "scale": "number",
            "min": 1.0,
            "max": 10.0,
            "max_tokens": 64,
        },
    }
    for kind, config in configs.items():
        assert spec.check(kind, config).config() == config
    boolean_judge = {
        "model": "gpt-4o-mini",
        "provider": "groq",
        "prompt": "{{output}}",
        "system": "You grade answers.",
        "scale": "boolean",
        "max_tokens": 256,
    }
    assert spec.check("llm_judge", boolean_judge).config() == boolean_judge
