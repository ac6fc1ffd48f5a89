"""An evaluator's settings from the API's JSON, checked: every error names its field.

``{"name", "kind", "config", "sample_rate"?, "description"?}``; ``config`` depends on
the kind (see docs/evaluators.md). Everything is checked here, at creation: a regex
that does not compile or a schema that is not one is a 400 now, never a failure
later on live traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, get_args

import orjson

from relayscope.errors import BadRequest
from relayscope.evaluators.checks import (
    ContainsCheck,
    CostCheck,
    Expect,
    Field,
    JsonSchemaCheck,
    LatencyCheck,
    LengthCheck,
    RegexCheck,
)
from relayscope.evaluators.judge import DEFAULT_MAX_TOKENS, VARIABLES, JudgeCheck
from relayscope.evaluators.model import KINDS, Check
from relayscope.evaluators.patterns import PatternError, compile_pattern
from relayscope.evaluators.schemas import SchemaProblem, checked_schema
from relayscope.evaluators.verdict import Scale
from relayscope.prompts.template import Template
from relayscope.providers.registry import PROVIDERS
from relayscope.store.scores import RESERVED_PREFIX, name_problem

MAX_DESCRIPTION = 500
MAX_PROMPT_CHARS = 20_000
MAX_CONTAINS_CHARS = 1000
MAX_JUDGE_TOKENS = 4096
FIELDS = ("name", "kind", "config", "sample_rate", "description")
UPDATABLE = ("config", "sample_rate", "description")


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def known_fields(body: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for key in body:
        if key not in fields:
            raise BadRequest(
                f"Unknown field {key!r}: the body takes {', '.join(fields)}", param=key
            )


def name(value: object) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise BadRequest(f"Invalid 'name': {problem.replace('score name', 'name')}", param="name")
    assert isinstance(value, str)
    if value.lower().startswith(RESERVED_PREFIX):
        raise BadRequest(
            f"Invalid 'name': names starting with {RESERVED_PREFIX!r} are the gateway's own",
            param="name",
        )
    return value


def sample_rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise BadRequest(
            "'sample_rate' must be a number from 0 (on demand only) to 1 (every request)",
            param="sample_rate",
        )
    return float(value)


def description(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise BadRequest(
            f"'description' must be a string of at most {MAX_DESCRIPTION} characters",
            param="description",
        )
    return value


def kind(value: object) -> str:
    if value not in KINDS:
        raise BadRequest(f"'kind' must be one of {', '.join(KINDS)}", param="kind")
    assert isinstance(value, str)
    return value


def check(kind_name: str, config: object) -> Check:
    """The check of ``kind_name`` configured by ``config``, or a BadRequest naming the field."""
    if not isinstance(config, dict):
        raise BadRequest("'config' must be an object (its fields depend on 'kind')", param="config")
    build, fields = _BUILDERS[kind_name]
    for key in config:
        if key not in fields:
            raise BadRequest(
                f"Unknown field {key!r} in 'config' of a {kind_name} evaluator: it takes "
                f"{', '.join(fields)}",
                param=f"config.{key}",
            )
    return build(_Config(config))


class _Config:
    """Reads one evaluator's ``config``, each error naming ``config.<field>``."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def bad(self, key: str, problem: str) -> BadRequest:
        return BadRequest(f"Invalid 'config.{key}': {problem}", param=f"config.{key}")

    def text(self, key: str, *, required: bool = True, limit: int) -> str | None:
        value = self.values.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise self.bad(key, "must be a non-empty string")
        if len(value) > limit:
            raise self.bad(key, f"has at most {limit} characters")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self.bad(key, "must be true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.values.get(key, default)
        if value not in choices:
            raise self.bad(key, f"must be one of {', '.join(choices)}")
        assert isinstance(value, str)
        return value

    def number(self, key: str, *, integer: bool = False, low: float = 0) -> float | None:
        value = self.values.get(key)
        if value is None:
            return None
        valid = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not valid or not math.isfinite(value) or value < low:
            what = "an integer" if integer else "a number"
            raise self.bad(key, f"must be {what} of at least {low:g}")
        return float(value)

    def bounds(self, low_key: str, high_key: str, *, integer: bool = False) -> tuple[Any, Any]:
        low = self.number(low_key, integer=integer)
        high = self.number(high_key, integer=integer)
        if low is None and high is None:
            raise self.bad(high_key, f"give {low_key}, {high_key} or both")
        if low is not None and high is not None and low > high:
            raise self.bad(low_key, f"must not be more than {high_key}")
        if integer:
            return (None if low is None else int(low)), (None if high is None else int(high))
        return low, high


def _expect(config: _Config) -> Expect:
    value = config.choice("expect", get_args(Expect), "match")
    return "match" if value == "match" else "no_match"


def _field(config: _Config) -> Field:
    return "output" if config.choice("field", get_args(Field), "output") == "output" else "input"


def _regex(config: _Config) -> Check:
    ignore_case = config.flag("ignore_case", False)
    try:
        pattern = compile_pattern(config.values.get("pattern"), ignore_case=ignore_case)
    except PatternError as exc:
        raise config.bad("pattern", str(exc)) from None
    return RegexCheck(pattern, _expect(config), _field(config), ignore_case)


def _contains(config: _Config) -> Check:
    text = config.text("text", limit=MAX_CONTAINS_CHARS)
    assert text is not None
    return ContainsCheck(
        text, _expect(config), _field(config), config.flag("case_sensitive", False)
    )


def _json_schema(config: _Config) -> Check:
    if "schema" not in config.values:
        raise config.bad("schema", "a JSON Schema object is required")
    schema = config.values["schema"]
    try:
        validator = checked_schema(schema)
    except SchemaProblem as exc:
        raise config.bad("schema", str(exc)) from None
    return JsonSchemaCheck(schema, validator)


def _length(config: _Config) -> Check:
    low, high = config.bounds("min", "max", integer=True)
    return LengthCheck(low, high, _field(config))


def _latency(config: _Config) -> Check:
    low, high = config.bounds("min_ms", "max_ms")
    return LatencyCheck(max_ms=high, min_ms=low)


def _cost(config: _Config) -> Check:
    low, high = config.bounds("min_usd", "max_usd")
    return CostCheck(max_usd=high, min_usd=low)


JUDGE_PROVIDERS = tuple(
    p.name
    for p in PROVIDERS
    if p.format == "openai" and not p.templated_host and p.version_paths == ("/v1",)
)
"""Providers a judge may use: those that take OpenAI's chat format at ``/<name>/v1``."""


def _judge(config: _Config) -> Check:
    model = config.text("model", limit=200)
    prompt = config.text("prompt", limit=MAX_PROMPT_CHARS)
    system = config.text("system", required=False, limit=MAX_PROMPT_CHARS)
    assert model is not None and prompt is not None
    provider = config.choice("provider", JUDGE_PROVIDERS, "openai")
    used = set(Template(messages=[{"role": "user", "content": prompt}]).variables)
    if system is not None:
        used |= set(Template(messages=[{"role": "system", "content": system}]).variables)
    unknown = sorted(used - set(VARIABLES))
    if unknown:
        raise config.bad(
            "prompt",
            f"unknown placeholder {{{{{unknown[0]}}}}}: a judge's prompt may use "
            "{{input}} and {{output}}",
        )
    if "output" not in used:
        raise config.bad("prompt", "must hold {{output}}, the answer to judge")
    scale: Scale = (
        "number" if config.choice("scale", get_args(Scale), "boolean") == "number" else "boolean"
    )
    low = config.number("min", low=-math.inf)
    high = config.number("max", low=-math.inf)
    if scale == "boolean" and (low is not None or high is not None):
        raise config.bad("min" if low is not None else "max", "is for scale 'number' only")
    low, high = (0.0 if low is None else low), (1.0 if high is None else high)
    if low >= high:
        raise config.bad("min", "must be less than max")
    max_tokens = config.number("max_tokens", integer=True, low=1)
    if max_tokens is not None and max_tokens > MAX_JUDGE_TOKENS:
        raise config.bad("max_tokens", f"is at most {MAX_JUDGE_TOKENS}")
    return JudgeCheck(
        model=model,
        prompt=prompt,
        provider=provider,
        system=system,
        scale=scale,
        min=low,
        max=high,
        max_tokens=DEFAULT_MAX_TOKENS if max_tokens is None else int(max_tokens),
    )


_BUILDERS: dict[str, tuple[Callable[[_Config], Check], tuple[str, ...]]] = {
    "regex": (_regex, ("pattern", "expect", "field", "ignore_case")),
    "contains": (_contains, ("text", "expect", "field", "case_sensitive")),
    "json_schema": (_json_schema, ("schema",)),
    "length": (_length, ("min", "max", "field")),
    "latency": (_latency, ("min_ms", "max_ms")),
    "cost": (_cost, ("min_usd", "max_usd")),
    "llm_judge": (
        _judge,
        ("model", "provider", "prompt", "system", "scale", "min", "max", "max_tokens"),
    ),
}
