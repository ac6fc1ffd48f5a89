"""JSON Schema checks on model answers, with user patterns bounded like ``patterns``.

``jsonschema`` validates (Draft 2020-12 unless the schema names another draft). Its
``pattern`` and ``patternProperties`` keywords would search with Python's ``re``,
which has no timeout; here they search with ``patterns.search_now``, so a schema
cannot smuggle in the catastrophic regex a regex evaluator is refused. References
are resolved within the schema only: nothing is fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
from jsonschema import ValidationError, validators
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator

from relayscope.evaluators.patterns import PatternError, compile_pattern, search_now

MAX_SCHEMA_BYTES = 20_000
_FENCE = re.compile(r"```(?:json)?\s*\n(.*)\n```", re.DOTALL)
"""An answer that is one fenced code block: models often wrap JSON so."""


class SchemaProblem(ValueError):
    """A schema that cannot be used; the message says why."""


def _pattern(validator: Validator, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if isinstance(instance, str) and not search_now(compile_pattern(pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, properties: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not isinstance(instance, dict):
        return
    for pattern, subschema in properties.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():
            if search_now(compiled, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def checked_schema(schema: object) -> Validator:
    """A validator for ``schema``; SchemaProblem when it is not a usable schema."""
    if not isinstance(schema, dict):
        raise SchemaProblem("must be a JSON Schema (an object)")
    if len(orjson.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise SchemaProblem(f"has at most {MAX_SCHEMA_BYTES} bytes as JSON")
    for where, pattern in _patterns(schema):
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise SchemaProblem(f"{where} {pattern!r} {exc}") from None
    base = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        base.check_schema(schema)
    except SchemaError as exc:
        raise SchemaProblem(f"is not a valid JSON Schema: {exc.message}") from None
    bounded = validators.extend(  # type: ignore[no-untyped-call]
        base, {"pattern": _pattern, "patternProperties": _pattern_properties}
    )
    validator: Validator = bounded(schema)
    return validator


def _patterns(schema: object, where: str = "schema") -> Iterator[tuple[str, object]]:
    """Every regex a schema holds: ``pattern`` values and ``patternProperties`` keys."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern":
                yield f"{where}.pattern", value
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    yield f"{where}.patternProperties", pattern
            yield from _patterns(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _patterns(item, f"{where}[{index}]")


def first_error(validator: Validator, text: str) -> str | None:
    """Why ``text`` is not a JSON document ``validator`` accepts, or None when it is.

    Blocks while validating (patterns are bounded): call it on a worker thread."""
    fenced = _FENCE.fullmatch(text.strip())
    try:
        document = orjson.loads(fenced.group(1) if fenced else text)
    except orjson.JSONDecodeError:
        return "the answer is not JSON"
    error = next(iter(validator.iter_errors(document)), None)
    return None if error is None else error.message
