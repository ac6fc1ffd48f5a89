"""The policy syntax: ``<quota>;w=<seconds>[;u=<unit>][;s=<segment>]``.

``u`` is ``request`` (each request costs 1) or ``cents`` (each request costs its
price). ``s`` is ``user`` (per ``Helicone-User-Id``) or a property name (per value
of ``Helicone-Property-<name>``); without it the policy counts the whole org.

The short form of Helicone's earlier proxy, where ``u`` names the segment, is
accepted too: ``u=user`` (per user), ``u=org`` (the whole org) and ``u=request``
all count requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

MAX_WINDOW = 31_536_000
MAX_QUOTA = 1e15
MAX_LENGTH = 1024
MAX_SEGMENT = 128
USER = "user"

Unit = Literal["request", "cents"]

_QUOTA = re.compile(r"\d+(?:\.\d+)?")
_WINDOW = re.compile(r"\d+")
_SEGMENT = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header-name token, since a segment names ``Helicone-Property-<segment>``."""


class PolicyError(ValueError):
    """A policy that cannot be used; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Policy:
    quota: float
    window: int
    """Seconds."""
    unit: Unit = "request"
    segment: str | None = None
    """None: the whole org; ``user``: per user; otherwise a property name, lower case."""

    @property
    def per_request(self) -> bool:
        return self.unit == "request"

    def __str__(self) -> str:
        text = f"{format_number(self.quota)};w={self.window};u={self.unit}"
        return text if self.segment is None else f"{text};s={self.segment}"

    def segment_header(self) -> str | None:
        """The request header whose value picks the counter, if the policy is segmented."""
        if self.segment is None:
            return None
        return "Helicone-User-Id" if self.segment == USER else f"Helicone-Property-{self.segment}"

    def describe(self) -> str:
        """``10 requests per 60 s per user``: for error messages."""
        amount = (
            f"{format_number(self.quota)} request{'s' if self.quota != 1 else ''}"
            if self.per_request
            else f"{format_number(self.quota)} cents"
        )
        if self.segment is None:
            scope = ""
        elif self.segment == USER:
            scope = " per user"
        else:
            scope = f" per value of {self.segment_header()}"
        return f"{amount} per {self.window} s{scope}"


@lru_cache(maxsize=1024)
def parse_policy(text: str) -> Policy:
    """The policy ``text`` describes; PolicyError saying what is wrong otherwise."""
    if len(text) > MAX_LENGTH:
        raise PolicyError(f"longer than {MAX_LENGTH} characters")
    parts = [part.strip() for part in text.split(";")]
    if not parts[0]:
        raise PolicyError("expected '<quota>;w=<seconds>[;u=<unit>][;s=<segment>]'")
    quota = _quota(parts[0])
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, equals, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not part:
            raise PolicyError("empty parameter between ';'")
        if not equals or not name or not value:
            raise PolicyError(f"parameter {part!r} is not of the form name=value")
        if name not in ("w", "u", "s"):
            raise PolicyError(f"unknown parameter {name!r} (expected w, u or s)")
        if name in params:
            raise PolicyError(f"parameter {name!r} given twice")
        params[name] = value
    if "w" not in params:
        raise PolicyError("missing the window, e.g. '100;w=60' for 100 per minute")
    window = _window(params["w"])
    unit, segment = _unit_and_segment(params.get("u"), params.get("s"))
    if unit == "request" and quota != int(quota):
        raise PolicyError(f"quota {parts[0]} must be a whole number of requests")
    return Policy(quota=quota, window=window, unit=unit, segment=segment)


def _quota(raw: str) -> float:
    if raw.startswith("-"):
        raise PolicyError(f"quota {raw} must be positive")
    if not _QUOTA.fullmatch(raw):
        raise PolicyError(f"quota {raw!r} is not a number")
    quota = float(raw)
    if quota <= 0:
        raise PolicyError(f"quota {raw} must be positive")
    if quota > MAX_QUOTA:  # hundreds of digits make float('inf'), which no counter holds
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        raise PolicyError(f"quota {shown} must be at most {format_number(MAX_QUOTA)}")
    return quota


def _window(raw: str) -> int:
    if raw.startswith("-"):
        raise PolicyError(f"window w={raw} must be between 1 and {MAX_WINDOW} seconds")
    if not _WINDOW.fullmatch(raw):
        raise PolicyError(f"window w={raw!r} is not a whole number of seconds")
    window = int(raw)
    if not 1 <= window <= MAX_WINDOW:
        raise PolicyError(f"window w={raw} must be between 1 and {MAX_WINDOW} seconds")
    return window


def _unit_and_segment(unit: str | None, segment: str | None) -> tuple[Unit, str | None]:
    if segment is not None:
        if not _SEGMENT.fullmatch(segment):
            raise PolicyError(f"segment s={segment!r} is not a valid header name")
        if len(segment) > MAX_SEGMENT:
            raise PolicyError(f"segment s= is longer than {MAX_SEGMENT} characters")
        segment = segment.lower()
    match (unit or "request").lower():
        case "request":
            return "request", segment
        case "cents":
            return "cents", segment
        case "user" | "org" as short:
            if segment is not None:
                raise PolicyError(f"u={short} already names the segment; drop s={segment}")
            return "request", USER if short == "user" else None
        case _:
            raise PolicyError(
                f"unknown unit u={unit!r} (expected request or cents; user and org are "
                "accepted as the short form for a segment)"
            )


def format_number(value: float) -> str:
    """``10``, ``0.25``: no trailing zeros, no exponent."""
    if value == int(value):
        return str(int(value))
    return f"{value:.12f}".rstrip("0").rstrip(".")
