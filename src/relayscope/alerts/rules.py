"""Alert rule definitions and their validation (errors name the offending field)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from relayscope.alerts.durations import format_duration, parse_duration
from relayscope.errors import BadRequest
from relayscope.proxy.tags import property_name
from relayscope.store.scores import name_problem

METRICS = (
    "cost_usd",
    "error_rate",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "request_count",
    "score_avg",
    "tokens",
)
SCORE = "score_avg"
"""The average of the score named by the rule's ``score`` over the window's requests
that hold it (feedback: ``helicone-feedback``, the share of positive ratings)."""
LATENCY = {"latency_p50": 50, "latency_p95": 95, "latency_p99": 99}
"""Latency metrics and the percentile each one measures."""
NEEDS_VOLUME = {"error_rate", SCORE, *LATENCY}
"""Metrics that stay quiet below ``min_requests`` requests in the window (for a score,
requests that hold it)."""
COMPARISONS = (">", ">=", "<", "<=")
MODES = ("absolute", "relative")
DEFAULT_COOLDOWN = 300
DEFAULT_MIN_REQUESTS = 10
MAX_WINDOW = 31 * 86400
UNITS = {
    "cost_usd": "USD",
    "error_rate": "%",
    "request_count": "requests",
    "tokens": "tokens",
    SCORE: "",
    **dict.fromkeys(LATENCY, "ms"),
}
_FIELDS = {
    "name",
    "metric",
    "comparison",
    "threshold",
    "window",
    "filters",
    "min_requests",
    "mode",
    "cooldown",
    "channels",
    "enabled",
    "score",
}
_FILTERS = {"model", "provider", "user_id", "properties"}


def invalid(name: str, problem: str) -> BadRequest:
    return BadRequest(f"Invalid field '{name}': {problem}", param=name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    model: str | None = None
    """Matches the requested or the answering model."""
    provider: str | None = None
    user_id: str | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in (("model", self.model), ("provider", self.provider)) if v
        }
        if self.user_id:
            out["user_id"] = self.user_id
        if self.properties:
            out["properties"] = dict(self.properties)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSpec:
    """What a user defines; ``Rule`` adds identity and evaluation state."""

    name: str
    metric: str
    comparison: str
    threshold: float
    window: int
    """Seconds."""
    filters: Filters
    min_requests: int
    mode: str
    cooldown: int
    """Seconds after a firing during which the rule does not fire again."""
    channels: tuple[str, ...]
    enabled: bool
    score: str | None = None
    """The score name a ``score_avg`` rule averages."""

    def breached(self, value: float) -> bool:
        if self.comparison == ">":
            return value > self.threshold
        if self.comparison == ">=":
            return value >= self.threshold
        if self.comparison == "<":
            return value < self.threshold
        return value <= self.threshold

    def describe(self) -> str:
        """``latency_p95 up 50% vs previous 5m`` or ``error_rate > 5 % over 5m``."""
        window = format_duration(self.window)
        if self.metric == SCORE:
            return f"average score {self.score} {self.comparison} {self.threshold:g} over {window}"
        if self.mode == "relative":
            return (
                f"{self.metric} change {self.comparison} {self.threshold:g}% "
                f"vs the previous {window}"
            )
        return (
            f"{self.metric} {self.comparison} {self.threshold:g} {UNITS[self.metric]} over {window}"
        )

    def definition(self) -> dict[str, Any]:
        """What is stored: ``parse_rule`` reads it back unchanged."""
        data: dict[str, Any] = {
            "name": self.name,
            "metric": self.metric,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "window": self.window,
            "filters": self.filters.to_json(),
            "mode": self.mode,
            "cooldown": self.cooldown,
            "channels": list(self.channels),
            "enabled": self.enabled,
        }
        if self.metric in NEEDS_VOLUME:
            data["min_requests"] = self.min_requests
        if self.score is not None:
            data["score"] = self.score
        return data

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "window": format_duration(self.window),
            "window_seconds": self.window,
            "filters": self.filters.to_json(),
            "min_requests": self.min_requests,
            "mode": self.mode,
            "cooldown": format_duration(self.cooldown) if self.cooldown else "0s",
            "cooldown_seconds": self.cooldown,
            "channels": list(self.channels),
            "enabled": self.enabled,
            "score": self.score,
            "description": self.describe(),
        }


def parse_rule(data: object) -> RuleSpec:
    """A ``RuleSpec`` from API/CLI JSON, or BadRequest naming the first bad field."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object describing the rule")
    for key in data:
        if key not in _FIELDS:
            raise invalid(key, "unknown field")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise invalid("name", "required, a string of 1 to 200 characters")
    metric = data.get("metric")
    if metric not in METRICS:
        raise invalid("metric", f"must be one of {', '.join(METRICS)}")
    score = data.get("score")
    if metric == SCORE:
        problem = name_problem(score)
        if problem is not None:
            raise invalid("score", f"a score_avg rule names its score: {problem}")
    elif score is not None:
        raise invalid("score", "applies only to score_avg rules")
    comparison = data.get("comparison", ">")
    if comparison not in COMPARISONS:
        raise invalid("comparison", f"must be one of {', '.join(COMPARISONS)}")
    threshold = data.get("threshold")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not math.isfinite(threshold)
    ):
        raise invalid("threshold", "required, a number")
    if "window" not in data:
        raise invalid("window", "required, a duration such as 5m, 1h or 1d")
    window = _duration(data["window"], "window")
    if window > MAX_WINDOW:
        raise invalid("window", "must be 31 days or shorter")
    mode = data.get("mode", "absolute")
    if mode not in MODES:
        raise invalid("mode", "must be 'absolute' or 'relative'")
    if mode == "relative" and metric not in LATENCY:
        raise invalid("mode", "'relative' applies to latency_p50, latency_p95 and latency_p99")
    if metric in NEEDS_VOLUME:
        min_requests = data.get("min_requests", DEFAULT_MIN_REQUESTS)
        if isinstance(min_requests, bool) or not isinstance(min_requests, int) or min_requests < 1:
            raise invalid("min_requests", "must be an integer of at least 1")
    elif "min_requests" in data:
        raise invalid("min_requests", "applies only to error_rate, latency and score rules")
    else:
        min_requests = 0
    cooldown = data.get("cooldown", DEFAULT_COOLDOWN)
    cooldown = 0 if cooldown in (0, "0", "0s") else _duration(cooldown, "cooldown")
    channels = data.get("channels", [])
    if not isinstance(channels, list) or len(channels) > 20:
        raise invalid("channels", "must be a list of at most 20 channel ids")
    for i, channel in enumerate(channels):
        if not isinstance(channel, str) or not channel:
            raise invalid(f"channels[{i}]", "must be a channel id")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise invalid("enabled", "must be true or false")
    return RuleSpec(
        name=name.strip(),
        metric=metric,
        comparison=comparison,
        threshold=float(threshold),
        window=window,
        filters=parse_filters(data.get("filters", {}), "filters"),
        min_requests=min_requests,
        mode=mode,
        cooldown=cooldown,
        channels=tuple(dict.fromkeys(channels)),
        enabled=enabled,
        score=score,
    )


def parse_filters(data: object, where: str) -> Filters:
    if data is None:
        return Filters()
    if not isinstance(data, dict):
        raise invalid(where, "must be an object with model, provider, user_id or properties")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _FILTERS:
            raise invalid(f"{where}.{key}", "unknown filter")
        if key == "properties":
            values[key] = parse_properties(value, f"{where}.properties")
        elif value is not None:
            if not isinstance(value, str) or not value or len(value) > 256:
                raise invalid(f"{where}.{key}", "must be a string of 1 to 256 characters")
            values[key] = value
    return Filters(**values)


def parse_properties(data: object, where: str) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict) or len(data) > 10:
        raise invalid(where, "must be an object of at most 10 property names and values")
    properties: dict[str, str] = {}
    for name, value in data.items():
        if not name or not isinstance(value, str):
            raise invalid(f"{where}.{name}", "property values must be strings")
        canonical = property_name(name)
        if properties.get(canonical, value) != value:
            raise invalid(f"{where}.{name}", "names a property given twice (names ignore case)")
        properties[canonical] = value
    return properties


def _duration(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if not isinstance(value, str):
        raise invalid(name, "must be a duration such as 30s, 5m, 1h or 1d")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise invalid(name, str(exc)) from None
