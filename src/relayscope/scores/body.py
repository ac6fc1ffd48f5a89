"""The bodies of the score and feedback calls, checked as Helicone's API documents
them (``additionalProperties: false``); every error names the field."""

from __future__ import annotations

import math
from typing import Any

import orjson

from relayscope.errors import BadRequest
from relayscope.store.scores import (
    MAX_SCORES_PER_REQUEST,
    RESERVED_PREFIX,
    ScoreValue,
    name_problem,
)


def _object(raw: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    for key in body:
        if key not in fields:
            raise BadRequest(
                f"Unknown field {key!r}: the body takes only {', '.join(fields)}", param=key
            )
    for key in fields:
        if key not in body:
            raise BadRequest(f"The body needs the field {key!r}", param=key)
    return body


def scores(raw: bytes) -> dict[str, ScoreValue]:
    """``{"scores": {"<name>": number | boolean, ...}}`` as names and values."""
    given = _object(raw, ("scores",))["scores"]
    if not isinstance(given, dict) or not given:
        raise BadRequest(
            "'scores' must be an object of at least one score name and its value, "
            'as in {"scores": {"accuracy": 0.9, "helpful": true}}',
            param="scores",
        )
    if len(given) > MAX_SCORES_PER_REQUEST:
        raise BadRequest(f"'scores' names at most {MAX_SCORES_PER_REQUEST} scores", param="scores")
    checked: dict[str, ScoreValue] = {}
    for name, value in given.items():
        param = f"scores.{name}"
        problem = name_problem(name)
        if problem is not None:
            raise BadRequest(f"Invalid score name {name!r}: {problem}", param=param)
        if name.lower().startswith(RESERVED_PREFIX):
            raise BadRequest(
                f"Invalid score name {name!r}: names starting with {RESERVED_PREFIX!r} are "
                "the gateway's own (send feedback to .../feedback)",
                param=param,
            )
        checked[name] = _value(value, param)
    return checked


def _value(value: object, param: str) -> ScoreValue:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise BadRequest(
        f"Invalid value for '{param}': a score is a finite number or a boolean", param=param
    )


def rating(raw: bytes) -> bool:
    """``{"rating": true | false}``."""
    value = _object(raw, ("rating",))["rating"]
    if not isinstance(value, bool):
        raise BadRequest("'rating' must be true (positive) or false (negative)", param="rating")
    return value
