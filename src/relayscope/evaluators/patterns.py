"""Regular expressions from users, with their cost bounded.

A pattern is compiled with the ``regex`` package, whose searches take a timeout:
a pattern that backtracks catastrophically on some text (ReDoS) gives up after
``SEARCH_TIMEOUT`` seconds instead of holding a thread. Searches run on a worker
thread (``concurrent=True`` releases the GIL), never on the event loop. Patterns are
also capped in length and in counted repetition (which compiling expands), and the
text searched is capped in size.
"""

from __future__ import annotations

import asyncio
import math
import re

import regex

MAX_PATTERN_LENGTH = 1000
MAX_TEXT_CHARS = 1_000_000
"""Text past this is not searched: the logged bodies are bounded anyway
(``RELAYSCOPE_LOG_MAX_BODY_BYTES``), this bounds what one search may be handed."""
SEARCH_TIMEOUT = 0.1
"""Seconds one search may take before it counts as a failed evaluation."""
MAX_REPEAT_PRODUCT = 10_000
"""Counted repetitions (``{n}``, ``{n,m}``) are expanded when compiling: ``(a{1000}){1000}``
takes seconds to compile. Their bounds, multiplied together (as if all were nested),
must stay within this; compiling then takes milliseconds."""
_COUNTED = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_ESCAPED = re.compile(r"\\.", re.DOTALL)

Pattern = regex.Pattern[str]


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why."""


class SearchTimeout(Exception):
    pass


def compile_pattern(pattern: object, *, ignore_case: bool = False) -> Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise PatternError("must be a non-empty string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"has at most {MAX_PATTERN_LENGTH} characters")
    unescaped = _ESCAPED.sub(
        "", pattern
    )  # an escaped brace is no repeat; after an escaped backslash it is
    bounds = [int(high or low) for low, high in _COUNTED.findall(unescaped)]
    if math.prod(max(1, b) for b in bounds) > MAX_REPEAT_PRODUCT:
        raise PatternError(
            f"repeats too much: its counted repetitions multiply to more than "
            f"{MAX_REPEAT_PRODUCT:,}, which is costly to compile"
        )
    flags = regex.VERSION0 | (regex.IGNORECASE if ignore_case else 0)
    try:
        return regex.compile(pattern, flags)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise PatternError(f"is not a valid regular expression ({exc})") from None


def search_now(pattern: Pattern, text: str) -> bool:
    """Whether ``pattern`` occurs in ``text``; SearchTimeout past ``SEARCH_TIMEOUT``.

    Blocks up to the timeout: call it on a worker thread (``search``)."""
    try:
        return (
            pattern.search(text[:MAX_TEXT_CHARS], timeout=SEARCH_TIMEOUT, concurrent=True)
            is not None
        )
    except TimeoutError:
        raise SearchTimeout(
            f"the pattern took more than {SEARCH_TIMEOUT}s on this text and was stopped"
        ) from None


async def search(pattern: Pattern, text: str) -> bool:
    return await asyncio.to_thread(search_now, pattern, text)
