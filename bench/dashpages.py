"""The dashboard's pages, timed by the gateway's own clock.

Signs in like a browser (the sign-in form's CSRF cookie and token, then the session
cookie), then asks for every page: the explorer with and without filters and sorts, a
request, the sessions list and a session, users, properties, analytics with each
breakdown, prompts. Each page's time is its ``Server-Timing: app;dur=`` header
(``relayscope.dashboard.timing``): from the request reaching the dashboard to its
headers, all queries and the rendering included, the client and the socket left
out. Target: < 300 ms, judged on the median of the repeats; the first call (cold
caches) is reported beside it.
"""

from __future__ import annotations

import re
import statistics
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPResponse
from typing import Any
from urllib.parse import quote, urlencode

PAGE_LIMIT_MS = 300.0
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


@dataclass(frozen=True)
class Fetched:
    status: int
    server_ms: float | None
    client_ms: float
    bytes: int


def _open(request: urllib.request.Request) -> tuple[HTTPResponse | urllib.error.HTTPError, bytes]:
    try:
        response = OPENER.open(request, timeout=120)
        return response, response.read()
    except urllib.error.HTTPError as exc:
        return exc, exc.read()


def _cookies(response: HTTPResponse | urllib.error.HTTPError) -> dict[str, str]:
    out = {}
    for header in response.headers.get_all("set-cookie") or []:
        name, _, rest = header.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def sign_in(base: str, key: str) -> str:
    """The ``Cookie`` header of a signed-in dashboard session for ``key``."""
    form, body = _open(urllib.request.Request(f"{base}/dashboard/signin"))
    found = CSRF_FIELD.search(body.decode())
    if found is None:
        raise RuntimeError("the sign-in form has no CSRF token")
    login = "; ".join(f"{k}={v}" for k, v in _cookies(form).items())
    data = urlencode({"csrf_token": found.group(1), "key": key, "next": "/dashboard/requests"})
    posted, _ = _open(
        urllib.request.Request(
            f"{base}/dashboard/signin",
            data=data.encode(),
            headers={"Cookie": login, "Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    session = _cookies(posted).get("relayscope_session")
    if posted.status != 303 or not session:
        raise RuntimeError(f"sign-in failed: HTTP {posted.status}")
    return f"relayscope_session={session}"


def fetch(url: str, cookie: str) -> Fetched:
    started = time.perf_counter()
    response, body = _open(urllib.request.Request(url, headers={"Cookie": cookie}))
    client_ms = (time.perf_counter() - started) * 1000
    found = SERVER_TIMING.search(response.headers.get("server-timing") or "")
    return Fetched(
        status=response.status or 0,
        server_ms=float(found.group(1)) if found else None,
        client_ms=client_ms,
        bytes=len(body),
    )


def pages(request_id: str, session_id: str) -> list[tuple[str, str]]:
    """(label, path) for every dashboard page, on the seeded org's data."""
    explorer = "/dashboard/requests"
    analytics = "/dashboard/analytics?range=30d"
    return [
        ("explorer", explorer),
        ("explorer, user filter", f"{explorer}?user_id=user-0042"),
        ("explorer, model filter", f"{explorer}?model=gpt-4o"),
        ("explorer, property filter", f"{explorer}?property.feature=chat"),
        ("explorer, status=error", f"{explorer}?status=error"),
        ("explorer, search", f"{explorer}?search=volcano"),
        ("explorer, sort by cost", f"{explorer}?sort=cost"),
        ("explorer, sort by latency asc", f"{explorer}?sort=latency&order=asc"),
        ("explorer, sort by tokens", f"{explorer}?sort=tokens"),
        ("explorer, model filter + sort by cost", f"{explorer}?model=gpt-4o&sort=cost"),
        ("explorer, 200 a page", f"{explorer}?limit=200"),
        ("request detail", f"{explorer}/{quote(request_id, safe='')}"),
        ("sessions", "/dashboard/sessions"),
        ("a session", f"/dashboard/sessions/{quote(session_id, safe='')}"),
        ("users", "/dashboard/users"),
        ("users, by cost", "/dashboard/users?sort=cost"),
        ("properties", "/dashboard/properties"),
        ("property values (feature)", "/dashboard/properties?name=feature"),
        ("analytics, 24 h", "/dashboard/analytics"),
        ("analytics, 30 d by model", analytics),
        ("analytics, 30 d by provider", f"{analytics}&group_by=provider"),
        ("analytics, 30 d by user", f"{analytics}&group_by=user"),
        ("analytics, 30 d by property", f"{analytics}&group_by=property:feature"),
        ("analytics, 30 d by prompt", f"{analytics}&group_by=prompt"),
        ("analytics, 30 d, model filter", f"{analytics}&model=gpt-4o"),
        ("prompts", "/dashboard/prompts"),
    ]


def measure(
    base: str, cookie: str, chosen: list[tuple[str, str]], repeats: int, log: Any
) -> list[dict[str, Any]]:
    out = []
    for label, path in chosen:
        first = fetch(base + path, cookie)
        rest = [fetch(base + path, cookie) for _ in range(repeats)]
        statuses = sorted({first.status, *(r.status for r in rest)})
        times = [r.server_ms for r in rest if r.server_ms is not None]
        median = statistics.median(times) if times else None
        met = statuses == [200] and median is not None and median < PAGE_LIMIT_MS
        row = {
            "page": label,
            "path": path,
            "first_ms": first.server_ms,
            "median_ms": round(median, 1) if median is not None else None,
            "max_ms": max([t for t in [first.server_ms, *times] if t is not None], default=None),
            "client_median_ms": round(statistics.median(r.client_ms for r in rest), 1),
            "status": statuses,
            "bytes": first.bytes,
            "met": met,
        }
        log(f"page {label}: first {first.server_ms} ms, median {median} ms, HTTP {statuses}")
        out.append(row)
    return out
