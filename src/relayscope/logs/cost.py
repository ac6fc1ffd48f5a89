"""Cost in USD from the genai-prices dataset. Unknown model: None, never a guess."""

from __future__ import annotations

from functools import lru_cache

from genai_prices import Usage, calc_price


def cost_usd(
    provider_id: str | None,
    model: str | None,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> float | None:
    if not model or (input_tokens is None and output_tokens is None):
        return None
    usage = Usage(
        input_tokens=input_tokens or 0,
        output_tokens=output_tokens or 0,
        cache_read_tokens=cache_read_tokens or None,
        cache_write_tokens=cache_write_tokens or None,
    )
    for provider in _provider_candidates(provider_id):
        if not _known(provider, model):
            continue
        try:
            return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)
        except (LookupError, ValueError):
            continue
    return None


def _provider_candidates(provider_id: str | None) -> tuple[str | None, ...]:
    return (provider_id, None) if provider_id else (None,)


@lru_cache(maxsize=4096)
def _known(provider_id: str | None, model: str) -> bool:
    try:
        calc_price(Usage(input_tokens=1), model_ref=model, provider_id=provider_id)
    except (LookupError, ValueError):
        return False
    return True
