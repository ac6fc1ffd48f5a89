"""Any-case text filters (``TextMatch``) as SQL and ClickHouse conditions.

``is`` compares lower-cased values; ``contains`` looks for the value anywhere, in any
case, with the user's ``%`` and ``_`` taken literally. Letter case is folded by each
engine: ASCII only on SQLite, by the database's locale on Postgres, and by Unicode
on ClickHouse.

What serves them on a large log: ``user_id is`` reads the ``lower(user_id)``
expression index (``ix_requests_org_user_lower``, both SQL engines), as the exact
filter reads ``ix_requests_org_user``. The others walk the org's requests newest
first and stop at the page's last match, which is quick for common values (models,
request names) and reads the whole range for rare ones; a time range bounds that.
No B-tree index can answer a substring, and trigram indexes need an extension the
gateway does not assume it may install.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_

from relayscope.store.base import TextMatch
from relayscope.store.schema import requests


def _columns(field: str) -> list[Any]:
    c = requests.c
    if field == "model":
        return [c.request_model, c.response_model]
    if field.startswith("property:"):
        return [c.properties[field.removeprefix("property:")].as_string()]
    return [c[field]]


def sql_condition(match: TextMatch) -> Any:
    """The WHERE clause (SQLAlchemy, SQLite or Postgres) for ``match``."""
    conditions = [
        func.lower(column) == func.lower(match.value)
        if match.op == "is"
        else column.icontains(match.value, autoescape=True)
        for column in _columns(match.field)
    ]
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def clickhouse_condition(match: TextMatch, n: int) -> tuple[str, dict[str, str]]:
    """The ClickHouse WHERE clause for ``match``, with its parameters named by ``n``
    (the match's place in the filter, so several never share a name)."""
    params = {f"tv{n}": match.value}
    if match.field == "model":
        columns = ["request_model", "response_model"]
    elif match.field.startswith("property:"):
        columns = [f"properties[{{tk{n}:String}}]"]
        params[f"tk{n}"] = match.field.removeprefix("property:")
    else:
        columns = [match.field]
    value = f"{{tv{n}:String}}"
    if match.op == "is":
        tests = [f"lowerUTF8({column}) = lowerUTF8({value})" for column in columns]
    else:
        tests = [f"positionCaseInsensitiveUTF8({column}, {value}) > 0" for column in columns]
    return "(" + " OR ".join(tests) + ")", params
