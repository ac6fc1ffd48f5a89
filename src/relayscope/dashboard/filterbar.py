"""The filter bar the explorer and the analytics page share (``_filterbar.html``).

Its form speaks in fields a person fills (``user_id`` with ``user_id.op`` = is or
contains, property rows ``prop_name.N`` / ``prop_op.N`` / ``prop_value.N``, a time
range preset or ``custom`` from/to); ``canonical`` rewrites them into the JSON API's
parameters (``user_id.contains=4o``, ``property_is.feature=checkout``), so a page's
URL is shareable and reads like the API call it makes. ``bar`` reads such a URL back
into the controls, and ``window`` gives the analytics page its time window. A preset
range stays relative in the URL (``range=24h``, which the API reads too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from relayscope.api import params
from relayscope.api.text_filters import PROPERTY_PREFIXES
from relayscope.api.time_range import RANGES, span_of
from relayscope.store.base import TEXT_OPS

CUSTOM = "custom"
TEXT_INPUTS = (
    # (API field, label, what the suggestions endpoint calls it)
    ("user_id", "User", "user"),
    ("model", "Model", "model"),
    ("prompt_id", "Prompt", "prompt"),
    ("request_name", "Request name", ""),
)
_TEXT_NAMES = {name for name, _label, _suggest in TEXT_INPUTS}
_PROPERTY_ROW = re.compile(r"^prop_(name|op|value)\.(\d{1,3})$")


@dataclass(frozen=True, slots=True)
class TextInput:
    name: str
    label: str
    suggest: str
    """The suggestions endpoint's ``field`` for this input ("" for none)."""
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class PropertyRow:
    name: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class FilterBar:
    range: str
    """A key of ``RANGES``, ``custom``, or "" (any time)."""
    since: str
    """The custom range's start as a ``datetime-local`` input shows it (UTC)."""
    until: str
    texts: list[TextInput]
    properties: list[PropertyRow]
    """The property conditions in the URL, then an empty row to add one."""
    hidden: list[tuple[str, str]]
    """Filters in the URL the bar has no control for, kept as they are."""
    any_time: bool
    """Whether "any time" is offered (the explorer) or a preset is the default."""

    @property
    def presets(self) -> list[tuple[str, str]]:
        return [(key, label) for key, (_span, label) in RANGES.items()]


def canonical(query: QueryParams) -> str | None:
    """The URL query with the form's fields as API parameters; None when it has none."""
    items = query.multi_items()
    names = {name for name, _value in items}
    rows: dict[str, dict[str, str]] = {}
    out: list[tuple[str, str]] = []
    changed = False
    for name, value in items:
        part = _PROPERTY_ROW.match(name)
        if part:
            rows.setdefault(part.group(2), {})[part.group(1)] = value.strip()
            changed = True
        elif name.endswith(".op") and name.removesuffix(".op") in _TEXT_NAMES:
            changed = True
        elif f"{name}.op" in names and name in _TEXT_NAMES:
            op = _op(query.get(f"{name}.op", "is"), f"{name}.op")
            if value.strip():
                out.append((f"{name}.{op}", value.strip()))
            changed = True
        elif name == "range" and value == CUSTOM:
            changed = True
        elif name in ("from", "to") and query.get("range") in RANGES:
            changed = True  # a preset chosen over a custom range
        else:
            out.append((name, value))
    for _index, row in sorted(rows.items(), key=lambda item: int(item[0])):
        prop, value = row.get("name", ""), row.get("value", "")
        if prop and value:
            op = _op(row.get("op") or "is", "prop_op")
            out.append((f"property_{op}.{prop}", value))
    return urlencode(out) if changed else None


def _op(value: str, param: str) -> str:
    if value not in TEXT_OPS:
        raise params.bad(param, f"must be one of {', '.join(TEXT_OPS)}")
    return value


def bar(query: QueryParams, *, own: set[str], any_time: bool) -> FilterBar:
    """The controls for ``query``. ``own`` names the parameters the page handles
    itself (its own controls; ``score.`` for every ``score.*``); the bar carries any
    other one as a hidden field."""
    texts, used = [], set()
    for name, label, suggest in TEXT_INPUTS:
        op, value = "is", ""
        for candidate, shown_op in ((f"{name}.is", "is"), (f"{name}.contains", "contains")):
            if candidate in query:
                op, value = shown_op, query[candidate]
                used.add(candidate)
                break
        else:
            if name in query:
                value = query[name]
                used.add(name)
        texts.append(TextInput(name, label, suggest, op, value))
    properties = []
    for key, value in query.multi_items():
        for prefix, op in (("property.", "is"), *zip(PROPERTY_PREFIXES, TEXT_OPS, strict=True)):
            if key.startswith(prefix):
                properties.append(PropertyRow(key.removeprefix(prefix), op, value))
    properties.append(PropertyRow("", "is", ""))
    mine = {"range", "from", "to"} | used | own
    prefixes = ("property.", *PROPERTY_PREFIXES, *(name for name in own if name.endswith(".")))
    hidden = [
        (key, value)
        for key, value in query.multi_items()
        if key not in mine and not key.startswith(prefixes)
    ]
    label = query.get("range", "")
    if query.get("from") or query.get("to"):
        label = CUSTOM
    elif not label and not any_time:
        label = "24h"
    return FilterBar(
        range=label,
        since=_local(query, "from"),
        until=_local(query, "to"),
        texts=texts,
        properties=properties,
        hidden=hidden,
        any_time=any_time,
    )


def _local(query: QueryParams, name: str) -> str:
    """A bound as a ``datetime-local`` input takes it: UTC, to the second."""
    if not query.get(name):
        return ""
    moment = params.timestamp(query, name)
    assert moment is not None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def window(query: QueryParams, *, default: str = "24h") -> tuple[str, str, str]:
    """(from, to, label) of the analytics page: explicit from/to, or a preset ending
    at the next whole minute (``default`` without either)."""
    if query.get("from") or query.get("to"):
        until = params.timestamp(query, "to") or datetime.now(UTC)
        since = params.timestamp(query, "from") or until - timedelta(days=1)
        return since.isoformat(), until.isoformat(), CUSTOM
    span = span_of(query) or RANGES[default][0]
    until = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return (until - span).isoformat(), until.isoformat(), query.get("range", default)
