"""The explorer's columns: which ones a user can show, and which they chose.

The choice is the URL's ``col`` parameters (repeated, in the table's order), like
every other part of the explorer's state: paging, sorting, filtering and reloading
keep it, and a shared link shows the table its sender saw. The browser also keeps
the last choice (``dashboard.js``), so the explorer opened from the menu shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from relayscope.api import params

PARAM = "col"
PROPERTY = "property."


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    """What the URL's ``col`` says: "latency", "property.feature"."""
    label: str
    numeric: bool = False
    sort: str | None = None
    """The explorer's ``sort`` value when its header sorts (store.order)."""

    @property
    def property_name(self) -> str | None:
        return self.key.removeprefix(PROPERTY) if self.key.startswith(PROPERTY) else None

    @property
    def preview(self) -> bool:
        return self.key in PREVIEWS


BUILTIN = (
    Column("status", "Status"),
    Column("model", "Provider / model"),
    Column("user", "User"),
    Column("session", "Session"),
    Column("name", "Name"),
    Column("latency", "Latency", numeric=True, sort="latency"),
    Column("ttft", "TTFT", numeric=True),
    Column("tokens", "Tokens in / out", numeric=True, sort="tokens"),
    Column("cost", "Cost", numeric=True, sort="cost"),
    Column("cache", "Cache"),
    Column("request", "Request"),
    Column("response", "Response"),
)
"""Every column but Time, which is always first: it links the request and sorts by time."""
BY_KEY = {column.key: column for column in BUILTIN}
DEFAULT = tuple(BUILTIN[:10])
"""The explorer's columns before it had a chooser: everything but the previews."""
PREVIEWS = ("request", "response")
MAX_COLUMNS = 40


def property_column(name: str) -> Column:
    return Column(PROPERTY + name, name)


def chosen(query: QueryParams) -> tuple[Column, ...]:
    """The columns the URL asks for, in its order; the defaults when it names none."""
    keys = query.getlist(PARAM)
    if not keys:
        return DEFAULT
    if len(keys) > MAX_COLUMNS:
        raise params.bad(PARAM, f"at most {MAX_COLUMNS} columns")
    out: list[Column] = []
    for key in dict.fromkeys(keys):
        if key in BY_KEY:
            out.append(BY_KEY[key])
        elif key.startswith(PROPERTY) and key.removeprefix(PROPERTY).strip():
            out.append(property_column(key.removeprefix(PROPERTY).strip().lower()))
        else:
            names = ", ".join(c.key for c in BUILTIN)
            raise params.bad(PARAM, f"must be one of {names}, or property.<name>")
    return tuple(out)


def offered(shown: Sequence[Column], property_names: Iterable[str]) -> list[tuple[Column, bool]]:
    """What the chooser lists, each with whether it is shown: the built-in columns,
    then a column per property the org has (and any shown one it has not seen)."""
    keys = {column.key for column in shown}
    columns = list(BUILTIN)
    properties = dict.fromkeys([*property_names, *(c.property_name for c in shown)])
    columns += [property_column(name) for name in properties if name]
    return [(column, column.key in keys) for column in columns]
