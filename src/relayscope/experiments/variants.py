"""A variant: what an experiment changes about each dataset row's request.

``{"name", "model"?, "provider"?, "prompt_id"?, "prompt_version"?, "variables"?,
"parameters"?}``. The model is the variant's, else the prompt version's, else the
row's own. With a prompt version the gateway's prompt stage puts the version's
messages first and the row's conversation (its messages but the system ones) after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relayscope.errors import BadRequest
from relayscope.prompts.spec import PROMPT_ID

MAX_VARIANTS = 10
PROVIDERS = ("openai", "anthropic")
PARAMETERS: dict[str, tuple[float, float]] = {
    "temperature": (0, 2),
    "top_p": (0, 1),
    "max_tokens": (1, 1_000_000),
    "max_completion_tokens": (1, 1_000_000),
    "presence_penalty": (-2, 2),
    "frequency_penalty": (-2, 2),
    "seed": (-(2**63), 2**63 - 1),
}
"""Request fields a variant may set, and their bounds."""
_INTEGERS = ("max_tokens", "max_completion_tokens", "seed")
FIELDS = ("name", "model", "provider", "prompt_id", "prompt_version", "variables", "parameters")


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    model: str | None = None
    provider: str = "openai"
    prompt_id: str | None = None
    prompt_version: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, float | int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "provider": self.provider,
            "prompt_id": self.prompt_id,
            "prompt_version": self.prompt_version,
            "variables": self.variables,
            "parameters": self.parameters,
        }


def parse_variants(raw: object) -> list[Variant]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VARIANTS:
        raise BadRequest(
            f"'variants' must be a list of 1 to {MAX_VARIANTS} variants, as in "
            '[{"name": "mini", "model": "gpt-4o-mini"}]',
            param="variants",
        )
    variants = [_variant(item, f"variants[{n}]") for n, item in enumerate(raw)]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise BadRequest("Variant names must be different from each other", param="variants")
    return variants


def _bad(param: str, problem: str) -> BadRequest:
    return BadRequest(f"Invalid '{param}': {problem}", param=param)


def _variant(raw: object, where: str) -> Variant:
    if not isinstance(raw, dict):
        raise _bad(where, "a variant is an object")
    for key in raw:
        if key not in FIELDS:
            raise _bad(f"{where}.{key}", f"unknown field; a variant takes {', '.join(FIELDS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise _bad(f"{where}.name", "a non-empty string of at most 64 characters")
    model = raw.get("model")
    if model is not None and (not isinstance(model, str) or not model or len(model) > 200):
        raise _bad(f"{where}.model", "a model name of at most 200 characters")
    provider = raw.get("provider", "openai")
    if provider not in PROVIDERS:
        raise _bad(f"{where}.provider", f"one of {', '.join(PROVIDERS)}")
    prompt_id = raw.get("prompt_id")
    version = raw.get("prompt_version")
    if prompt_id is not None:
        if not isinstance(prompt_id, str) or not PROMPT_ID.fullmatch(prompt_id):
            raise _bad(f"{where}.prompt_id", "a prompt id")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _bad(f"{where}.prompt_version", "a version number (1 or more) of the prompt")
    elif version is not None:
        raise _bad(f"{where}.prompt_version", "goes with prompt_id")
    variables = raw.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise _bad(f"{where}.variables", "an object of strings")
    if variables and prompt_id is None:
        raise _bad(f"{where}.variables", "goes with prompt_id")
    return Variant(
        name=name.strip(),
        model=model,
        provider=provider,
        prompt_id=prompt_id,
        prompt_version=version,
        variables=variables,
        parameters=_parameters(raw.get("parameters", {}), f"{where}.parameters"),
    )


def _parameters(raw: object, where: str) -> dict[str, float | int]:
    if not isinstance(raw, dict):
        raise _bad(where, f"an object of {', '.join(PARAMETERS)}")
    checked: dict[str, float | int] = {}
    for name, value in raw.items():
        if name not in PARAMETERS:
            raise _bad(f"{where}.{name}", f"not a parameter; one of {', '.join(PARAMETERS)}")
        low, high = PARAMETERS[name]
        integer = name in _INTEGERS
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            raise _bad(f"{where}.{name}", f"{kind} from {low:g} to {high:g}")
        checked[name] = value
    return checked


def from_stored(raw: list[dict[str, Any]]) -> list[Variant]:
    return [Variant(**item) for item in raw]
