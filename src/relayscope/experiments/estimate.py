"""What an experiment will cost, before it runs: input tokens counted from the rows
(with tiktoken when it and its encoding data are available, else about 4 characters
per token), an assumed output length, times each model's price from the gateway's
price table (``logs.cost``)."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from relayscope.datasets.repository import Row
from relayscope.experiments.calls import conversation, model_of
from relayscope.experiments.variants import Variant
from relayscope.logs.cost import cost_usd

log = logging.getLogger("relayscope.experiments")

DEFAULT_OUTPUT_TOKENS = 256
"""Output tokens assumed per request when the variant does not cap them lower."""
MESSAGE_OVERHEAD = 3
"""Tokens each chat message costs beyond its text (role and separators), as OpenAI
counts them, plus 3 to prime the reply."""
APPROXIMATE = "approximate (about 4 characters per token; tiktoken's data is not available)"

Counter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class PromptText:
    """A prompt version's model and the text of its template messages."""

    model: str | None
    messages: list[dict[str, Any]]


@functools.cache
def _tiktoken(model: str) -> tuple[Counter, str] | None:
    """tiktoken's encoder for ``model``, or None when tiktoken or its data (fetched once
    from the network, then cached) cannot be had here."""
    try:
        import tiktoken

        try:
            encoding = tiktoken.encoding_for_model(model)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
    except Exception as exc:  # no package, no network for its data, a broken cache
        log.info("token counts are approximate: tiktoken unavailable (%s)", exc)
        return None
    return (lambda text: len(encoding.encode(text, disallowed_special=()))), (
        f"tiktoken {encoding.name}"
    )


def _approximate(text: str) -> int:
    return math.ceil(len(text) / 4)


def counter_for(model: str) -> tuple[Counter, str]:
    found = _tiktoken(model)
    return found if found is not None else (_approximate, APPROXIMATE)


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def input_tokens(messages: Sequence[dict[str, Any]], count: Counter) -> int:
    return sum(MESSAGE_OVERHEAD + count(message_text(m)) for m in messages) + MESSAGE_OVERHEAD


def estimate(
    rows: Sequence[Row],
    variants: Sequence[Variant],
    prompts: dict[str, PromptText],
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> dict[str, Any]:
    """The estimate as the API shows it; ``prompts`` holds each prompt variant's
    version, by variant name."""
    per_variant = []
    methods: set[str] = set()
    total = 0.0
    unpriced: set[str] = set()
    for variant in variants:
        prompt = prompts.get(variant.name)
        tokens_in = tokens_out = 0
        cost = 0.0
        priced = True
        models: set[str] = set()
        for row in rows:
            model = model_of(variant, row, prompt.model if prompt else None)
            if model is None:
                priced = False
                continue
            models.add(model)
            count, method = counter_for(model)
            methods.add(method)
            messages = [*(prompt.messages if prompt else []), *conversation(variant, row)]
            n_in = input_tokens(messages, count)
            cap = variant.parameters.get("max_tokens") or variant.parameters.get(
                "max_completion_tokens"
            )
            n_out = min(output_tokens, int(cap)) if cap else output_tokens
            tokens_in += n_in
            tokens_out += n_out
            price = cost_usd(variant.provider, model, input_tokens=n_in, output_tokens=n_out)
            if price is None:
                priced = False
                unpriced.add(model)
            else:
                cost += price
        per_variant.append(
            {
                "name": variant.name,
                "models": sorted(models),
                "requests": len(rows),
                "input_tokens": tokens_in,
                "assumed_output_tokens": tokens_out,
                "cost_usd": cost if priced else None,
            }
        )
        total += cost
    return {
        "requests": len(rows) * len(variants),
        "assumed_output_tokens_per_request": output_tokens,
        "input_tokens": sum(v["input_tokens"] for v in per_variant),
        "tokenizer": ", ".join(sorted(methods)) or None,
        "variants": per_variant,
        "total_cost_usd": total,
        "unpriced_models": sorted(unpriced),
        "complete": all(v["cost_usd"] is not None for v in per_variant),
    }
