"""What a request asks of the cache, from its ``Helicone-Cache-*`` and Cache-Control headers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from relayscope.cache.settings import CacheSettings
from relayscope.errors import InvalidHeader

MAX_SEED = 256


@dataclass(frozen=True, slots=True)
class CacheOptions:
    seed: str
    bucket_size: int
    ignore_keys: frozenset[str]
    ttl: int
    """Seconds the stored entry lives; 0 means the response is not stored."""
    semantic: bool
    similarity: float


def wants_cache(helicone: dict[str, str]) -> bool:
    """Whether ``Helicone-Cache-Enabled`` turns caching on; 400 for anything but true/false."""
    value = helicone.get("helicone-cache-enabled")
    if value is None:
        return False
    return _flag("Helicone-Cache-Enabled", value)


def parse_options(
    helicone: dict[str, str], cache_control: bytes | None, settings: CacheSettings
) -> CacheOptions:
    seed = helicone.get("helicone-cache-seed", "").strip()
    if len(seed) > MAX_SEED:
        raise InvalidHeader("Helicone-Cache-Seed", f"longer than {MAX_SEED} characters")
    return CacheOptions(
        seed=seed,
        bucket_size=_bucket_size(helicone.get("helicone-cache-bucket-max-size"), settings),
        ignore_keys=_ignore_keys(helicone.get("helicone-cache-ignore-keys")),
        ttl=_ttl(cache_control, settings),
        semantic=_flag("Helicone-Cache-Semantic", helicone.get("helicone-cache-semantic", "false")),
        similarity=_similarity(helicone.get("helicone-cache-similarity"), settings),
    )


def _flag(header: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise InvalidHeader(header, f"expected true or false, got {value!r}")


def _bucket_size(value: str | None, settings: CacheSettings) -> int:
    if value is None:
        return 1
    cap = settings.max_bucket_size
    size = _whole_number(value.strip())
    if size is None or not 1 <= size <= cap:
        raise InvalidHeader(
            "Helicone-Cache-Bucket-Max-Size", f"expected a whole number from 1 to {cap}"
        )
    return size


def _whole_number(text: str, max_digits: int = 18) -> int | None:
    """``text`` as a whole number; longer ones are capped, since int() refuses thousands of
    digits (and anything past ``max_digits`` is beyond every limit here anyway)."""
    if not text.isdecimal():
        return None
    return int(text) if len(text) <= max_digits else 10**max_digits


def _ignore_keys(value: str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset(key.strip() for key in value.split(",") if key.strip())


def _similarity(value: str | None, settings: CacheSettings) -> float:
    if value is None:
        return settings.default_similarity
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0.0 <= number <= 1.0:
        raise InvalidHeader("Helicone-Cache-Similarity", "expected a number from 0.0 to 1.0")
    return number


def _ttl(cache_control: bytes | None, settings: CacheSettings) -> int:
    if cache_control is None:
        return settings.default_ttl
    for directive in cache_control.decode("latin-1").split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() != "max-age":
            continue
        seconds = _whole_number(value.strip().strip('"'))
        if seconds is None:
            raise InvalidHeader("Cache-Control", "max-age must be a whole number of seconds")
        return min(seconds, settings.max_ttl)
    return settings.default_ttl
