"""Jinja2 templates and the formatting filters the pages share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).with_name("templates")

MISSING = "\u2013"  # an en dash stands for "no value"

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


def usd(value: float | None) -> str:
    if value is None:
        return MISSING
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def ms(value: float | None) -> str:
    if value is None:
        return MISSING
    if value >= 1000:
        return f"{value / 1000:,.2f} s"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def number(value: float | None) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:.1f}%"


def when(value: str | datetime | None) -> str:
    if value is None:
        return MISSING
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


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
environment.filters.update(
    usd=usd, ms=ms, number=number, percent=percent, when=when, pretty=pretty, as_json=as_json
)
environment.globals["query"] = query


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)
