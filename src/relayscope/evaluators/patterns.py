"""Regular expressions from users, with their cost bounded.

A pattern is compiled with the ``regex`` package, whose searches take a timeout:
a pattern that backtracks catastrophically on some text (ReDoS) gives up after
``SEARCH_TIMEOUT`` seconds instead of holding a thread. Searches run on a worker
thread (``concurrent=True`` releases the GIL), never on the event loop. Patterns are
also capped in length, and the text searched is capped in size.
"""

from __future__ import annotations

import asyncio

import regex

MAX_PATTERN_LENGTH = 1000
MAX_TEXT_CHARS = 1_000_000
"""Text past this is not searched: the logged bodies are bounded anyway
(``RELAYSCOPE_LOG_MAX_BODY_BYTES``), this bounds what one search may be handed."""
SEARCH_TIMEOUT = 0.1
"""Seconds one search may take before it counts as a failed evaluation."""

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
