"""The any-case text filters of ``/api/requests`` and ``/api/analytics/*``.

Beside the exact ``user_id=ada``, a text field takes ``user_id.is=ADA`` (equal in any
letter case) and ``user_id.contains=4o`` (the value anywhere in it, in any case;
``%`` and ``_`` are plain characters). A property's value takes
``property_is.<name>=...`` and ``property_contains.<name>=...``.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams

from relayscope.api import params
from relayscope.proxy.tags import property_name
from relayscope.store.base import TEXT_FIELDS, TEXT_OPS, TextMatch

TEXT_PARAMS = {f"{field}.{op}" for field in TEXT_FIELDS for op in TEXT_OPS}
PROPERTY_PREFIXES = tuple(f"property_{op}." for op in TEXT_OPS)
MAX_LENGTH = 256


def text_matches(query: QueryParams) -> tuple[TextMatch, ...]:
    """Every ``<field>.<op>`` and ``property_<op>.<name>`` parameter, in order."""
    found = []
    for name, value in query.multi_items():
        if name in TEXT_PARAMS:
            field, _, op = name.rpartition(".")
        elif name.startswith(PROPERTY_PREFIXES):
            prefix, _, prop = name.partition(".")
            if not prop:
                raise params.bad(name, f"needs a property name, as in {prefix}.<name>=<value>")
            field, op = f"property:{property_name(prop)}", prefix.removeprefix("property_")
        else:
            continue
        if value == "":
            raise params.bad(name, "needs a value to match")
        if len(value) > MAX_LENGTH:
            raise params.bad(name, f"must be at most {MAX_LENGTH} characters")
        found.append(TextMatch(field, op, value))
    return tuple(found)
