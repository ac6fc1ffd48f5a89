"""Jinja2 templates, with the number filters of ``formatting`` and a few for markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from relayscope.dashboard.formatting import FILTERS

TEMPLATES = Path(__file__).with_name("templates")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def pretty(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def as_json(value: Any) -> Markup:
    """JSON safe to embed inside ``<script type="application/json">``."""
    text = orjson.dumps(value).decode()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def query(params: dict[str, Any] | list[tuple[str, str]], **changes: Any) -> str:
    """A query string: ``params`` with ``changes`` applied (None removes a key)."""
    items = list(params.items()) if isinstance(params, dict) else list(params)
    drop = set(changes)
    out = [(k, v) for k, v in items if k not in drop and v not in (None, "")]
    out += [(k, v) for k, v in changes.items() if v not in (None, "")]
    return urlencode(out)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(FILTERS, pretty=pretty, as_json=as_json)
environment.globals["query"] = query


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)
