"""Cost in USD from the genai-prices dataset. Unknown model: None, never a guess.

The counts come from a provider's reply: a count that is not a non-negative
integer a store can hold, or a price that comes out negative or not finite, gives
None too (the record is still written, without a cost).

``calc_price`` costs ~70 µs a call, which made pricing the largest single cost of
the log writer. Most models have flat per-token prices, so their prices are looked
up once per model and hour and applied here; tiered or otherwise unusual prices
still go through ``calc_price``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price, data_snapshot

from relayscope.providers.formats.fields import MODEL_MAX_LENGTH, TOKEN_LIMIT

_FIELDS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


def cost_usd(
    provider_id: str | None,
    model: str | None,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> float | None:
    counts = (input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
    if not _priceable(model, counts) or (input_tokens is None and output_tokens is None):
        return None
    assert model is not None
    hour = int(time.time() // 3600)
    for provider in (provider_id, None) if provider_id else (None,):
        flat = _flat_prices(provider, model, hour)
        if flat is None:
            continue
        tokens = (
            input_tokens or 0,
            output_tokens or 0,
            cache_read_tokens or 0,
            cache_write_tokens or 0,
        )
        cost = _calc(provider, model, *tokens) if flat is _NOT_FLAT else _apply(flat, *tokens)
        return cost if cost is not None and math.isfinite(cost) and cost >= 0 else None
    return None


def _priceable(model: object, counts: tuple[object, ...]) -> bool:
    if not isinstance(model, str) or not model or len(model) > MODEL_MAX_LENGTH:
        return False
    return all(
        count is None
        or (isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= TOKEN_LIMIT)
        for count in counts
    )


_NOT_FLAT = (Decimal(-1),) * 4


@lru_cache(maxsize=4096)
def _flat_prices(
    provider_id: str | None, model: str, hour: int
) -> tuple[Decimal | None, ...] | None:
    """Per-million prices when flat, ``_NOT_FLAT`` when not, None for an unknown model."""
    try:
        _provider, info = data_snapshot.get_snapshot().find_provider_model(
            model, None, provider_id, None
        )
    except (LookupError, ValueError):
        return None
    prices = info.get_prices(datetime.now(UTC))
    values = tuple(getattr(prices, name, None) for name in _FIELDS)
    if not all(v is None or isinstance(v, Decimal) for v in values) or values[0] is None:
        return _NOT_FLAT
    return values


def _apply(
    flat: tuple[Decimal | None, ...], inputs: int, outputs: int, cache_read: int, cache_write: int
) -> float:
    input_price, output_price, read_price, write_price = flat
    assert input_price is not None
    uncached = max(0, inputs - cache_read - cache_write)
    total = (
        uncached * input_price
        + cache_read * (read_price if read_price is not None else input_price)
        + cache_write * (write_price if write_price is not None else input_price)
        + outputs * (output_price or 0)
    )
    return float(total / 1_000_000)


def _calc(
    provider_id: str | None, model: str, inputs: int, outputs: int, read: int, write: int
) -> float | None:
    usage = Usage(
        input_tokens=inputs,
        output_tokens=outputs,
        cache_read_tokens=read or None,
        cache_write_tokens=write or None,
    )
    try:
        return float(calc_price(usage, model_ref=model, provider_id=provider_id).total_price)
    except (LookupError, ValueError):
        return None
