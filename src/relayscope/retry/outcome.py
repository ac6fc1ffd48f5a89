"""What retries and fallbacks did for one request (``Context.retry``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Attempt:
    """One route tried (or skipped) once."""

    number: int
    """1 for the first attempt of the request, counting every route's."""
    fallback_index: int
    """The route: 0 the primary, i the i-th fallback."""
    provider: str
    model: str | None
    status: int | None
    """The status the attempt ended with; None for a skipped route."""
    latency_ms: float | None
    """None: the route was not tried (``error`` says why)."""
    error: str | None

    @property
    def sent(self) -> bool:
        """The attempt reached the upstream (a skipped route's did not)."""
        return self.latency_ms is not None

    def logged(self) -> dict[str, Any]:
        """The attempt as the log record keeps it (``LogRecord.attempts``)."""
        return {
            "attempt": self.number,
            "fallback_index": self.fallback_index,
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "error": self.error,
        }


@dataclass(slots=True)
class RetryOutcome:
    """Every attempt, in order, and the route whose answer the client got."""

    attempts: list[Attempt] = field(default_factory=list)
    fallback_index: int | None = None
    """The route that served: 0 the primary, i the i-th fallback; None when none could
    be tried."""

    def add(
        self,
        *,
        fallback_index: int,
        provider: str,
        model: str | None,
        status: int | None,
        latency_ms: float | None,
        error: str | None,
    ) -> None:
        self.attempts.append(
            Attempt(
                len(self.attempts) + 1, fallback_index, provider, model, status, latency_ms, error
            )
        )

    @property
    def sent(self) -> int:
        """How many attempts reached the upstream."""
        return sum(1 for attempt in self.attempts if attempt.sent)

    def logged(self) -> list[dict[str, Any]]:
        return [attempt.logged() for attempt in self.attempts]
