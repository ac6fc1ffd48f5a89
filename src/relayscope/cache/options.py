"""What a request asks of the cache, from its ``Helicone-Cache-*`` and Cache-Control headers.

The rules follow Helicone's proxy: caching is on only for ``Helicone-Cache-Enabled: true``
(any case), ``s-maxage`` wins over ``max-age``, and a value Helicone would ignore is
ignored here too, with a ``Helicone-Warning`` naming the header instead of a 400.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from relayscope.cache.settings import CacheSettings
from relayscope.errors import InvalidHeader

Warnings = list[tuple[str, str]]
"""(request header, what was done instead): each becomes a ``Helicone-Warning``."""


@dataclass(frozen=True, slots=True)
class CacheOptions:
    seed: str
    bucket_size: int
    ignore_keys: frozenset[str]
    ttl: int
    """Seconds the stored entry lives; 0 means the response is not stored."""
    semantic: bool
    similarity: float


def read_request(
    helicone: dict[str, str], cache_control: bytes | None, settings: CacheSettings
) -> tuple[CacheOptions | None, Warnings]:
    """The request's cache options (None when caching is off) and the warnings for what
    was ignored."""
    warnings: Warnings = []
    if not wants_cache(helicone, warnings):
        return None, warnings
    return parse_options(helicone, cache_control, settings, warnings), warnings


def wants_cache(helicone: dict[str, str], warnings: Warnings) -> bool:
    """Whether ``Helicone-Cache-Enabled`` turns caching on: only ``true``, in any case."""
    value = helicone.get("helicone-cache-enabled")
    return value is not None and _flag("Helicone-Cache-Enabled", value, warnings)


def parse_options(
    helicone: dict[str, str],
    cache_control: bytes | None,
    settings: CacheSettings,
    warnings: Warnings,
) -> CacheOptions:
    """The request's cache options; what is malformed is ignored and noted in ``warnings``.

    A bucket larger than ``settings.max_bucket_size`` is still refused (400), as Helicone
    refuses one above its own maximum.
    """
    semantic = helicone.get("helicone-cache-semantic")
    return CacheOptions(
        seed=helicone.get("helicone-cache-seed", "").strip(),
        bucket_size=_bucket_size(
            helicone.get("helicone-cache-bucket-max-size"), settings, warnings
        ),
        ignore_keys=_ignore_keys(helicone.get("helicone-cache-ignore-keys")),
        ttl=_ttl(cache_control, settings, warnings),
        semantic=semantic is not None and _flag("Helicone-Cache-Semantic", semantic, warnings),
        similarity=_similarity(helicone.get("helicone-cache-similarity"), settings, warnings),
    )


def _flag(header: str, value: str, warnings: Warnings) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        warnings.append((header, "not true or false, treated as false"))
    return lowered == "true"


def _bucket_size(value: str | None, settings: CacheSettings, warnings: Warnings) -> int:
    if value is None:
        return 1
    cap = settings.max_bucket_size
    size = _whole_number(value.strip())
    if size is None or size < 1:
        warnings.append(
            ("Helicone-Cache-Bucket-Max-Size", f"not a whole number from 1 to {cap}, 1 used")
        )
        return 1
    if size > cap:
        raise InvalidHeader("Helicone-Cache-Bucket-Max-Size", f"cannot be greater than {cap}")
    return size


def _whole_number(text: str, max_digits: int = 18) -> int | None:
    """``text`` as a whole number; longer ones are capped, since int() refuses thousands of
    digits (and anything past ``max_digits`` is beyond every limit here anyway)."""
    if not text.isascii() or not text.isdecimal():
        return None
    return int(text) if len(text) <= max_digits else 10**max_digits


def _ignore_keys(value: str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset(key.strip() for key in value.split(",") if key.strip())


def _similarity(value: str | None, settings: CacheSettings, warnings: Warnings) -> float:
    if value is None:
        return settings.default_similarity
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0.0 <= number <= 1.0:
        warnings.append(
            (
                "Helicone-Cache-Similarity",
                f"not a number from 0.0 to 1.0, {settings.default_similarity} used",
            )
        )
        return settings.default_similarity
    return number


def _ttl(cache_control: bytes | None, settings: CacheSettings, warnings: Warnings) -> int:
    """``s-maxage`` if the header has a valid one, else ``max-age``, else the default;
    capped at ``settings.max_ttl``."""
    if cache_control is None:
        return settings.default_ttl
    ages: dict[str, int] = {}
    for directive in cache_control.decode("latin-1").split(","):
        name, _, value = directive.partition("=")
        name = name.strip().lower()
        if name not in ("s-maxage", "max-age") or name in ages:
            continue
        seconds = _whole_number(value.strip().strip('"'))
        if seconds is None:
            warnings.append(("Cache-Control", f"{name} is not a whole number of seconds, ignored"))
            continue
        ages[name] = seconds
    seconds = ages.get("s-maxage", ages.get("max-age", settings.default_ttl))
    return min(seconds, settings.max_ttl)
