"""Warnings that can repeat thousands of times a second (every key lookup during a
store outage) are logged at most once per interval, with a count of those held back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledWarning:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._next_at = float("-inf")
        self._held_back = 0

    def warning(self, message: str, *args: object) -> None:
        now = self._clock()
        if now < self._next_at:
            self._held_back += 1
            return
        if self._held_back:
            message += " (and %d more like it in the last %g s)"
            args = (*args, self._held_back, self._interval)
        self._logger.warning(message, *args)
        self._next_at = now + self._interval
        self._held_back = 0
