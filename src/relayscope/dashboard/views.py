"""The dashboard's pages. Each page gets its numbers from the same functions as the
JSON API (``analytics.service``, the store's request listing), for the session's org."""

from __future__ import annotations

import difflib
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relayscope.analytics import service
from relayscope.analytics.repository import Analytics
from relayscope.api import params, request_export
from relayscope.api.requests import (
    FILTER_PREFIXES,
    page_cursor,
    parse_filter,
    record_json,
    sort_of,
)
from relayscope.auth.keys import Principal
from relayscope.dashboard import analytics_panels, auth, chat, detail, explorer, filterbar, internal
from relayscope.dashboard import columns as cols
from relayscope.dashboard.curl import as_curl
from relayscope.dashboard.render import page
from relayscope.errors import BadRequest
from relayscope.record import LogRecord
from relayscope.store import scores
from relayscope.store.order import NEWEST

Handler = Callable[[Request, auth.Session], Awaitable[Response]]
EXPLORER_PARAMS = service.FILTERS | {"cursor", "after", "limit", "sort", "order", cols.PARAM}
EXPLORER_OWN = {"session_id", "provider", "status", "feedback", "score.", "search", "limit"} | {
    "sort",
    "order",
    "prompt_version",
    "cursor",
    "after",
    cols.PARAM,
}
"""What the explorer shows beside the filter bar; a new filter starts at page one."""
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = await request.app.state.sessions.current(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(
                "/dashboard/signin?" + urlencode({"next": target}), status_code=303
            )
        items = request.query_params.multi_items()
        if request.method == "GET" and any(v.strip() == "" for _k, v in items):
            # Empty form fields mean "no filter": drop them so URLs stay shareable.
            kept = urlencode([(k, v) for k, v in items if v.strip() != ""])
            return RedirectResponse(
                request.url.path + (f"?{kept}" if kept else ""), status_code=303
            )
        return await handler(request, session)

    return endpoint


def _context(request: Request, session: auth.Session, section: str, **more: Any) -> dict[str, Any]:
    return {
        "session": session,
        "section": section,
        "gateway_url": str(request.base_url).rstrip("/"),
        "path": request.url.path,
        **more,
    }


def _analytics(request: Request) -> Analytics:
    return Analytics(request.app.state.store.database, request.app.state.logs)


# -- sign in / out -------------------------------------------------------------------


async def signin_form(request: Request) -> Response:
    if await request.app.state.sessions.current(request):
        return RedirectResponse("/dashboard/requests", status_code=303)
    return _signin_page(request, None, 200)


def _signin_page(request: Request, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    insecure = request.url.scheme == "http" and request.url.hostname not in (
        "localhost",
        "127.0.0.1",
        "::1",
    )
    response = page(
        "signin.html",
        status,
        csrf_token=token,
        error=error,
        next=_safe_next(request.query_params.get("next")),
        insecure=insecure,
    )
    auth.set_cookie(response, auth.LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return "/dashboard/requests"


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


async def signin(request: Request) -> Response:
    form = await _form(request)
    if not auth.same(form.get("csrf_token"), request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        return _signin_page(request, "The form expired; please try again.", 403)
    opened = await request.app.state.sessions.sign_in(form.get("key", ""))
    if opened is None:
        return _signin_page(request, "Unknown or revoked gateway key.", 401)
    token, _session = opened
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    auth.set_cookie(response, auth.COOKIE, token, max_age=int(auth.LIFETIME.total_seconds()))
    auth.clear_cookie(response, auth.LOGIN_CSRF_COOKIE)
    return response


@signed_in
async def signout(request: Request, session: auth.Session) -> Response:
    form = await _form(request)
    if not auth.same(form.get("csrf_token"), session.csrf_token):
        return Response("CSRF token missing or wrong", 403)
    await request.app.state.sessions.sign_out(request)
    response = RedirectResponse("/dashboard/signin", status_code=303)
    auth.clear_cookie(response, auth.COOKIE)
    return response


async def home(_request: Request) -> Response:
    return RedirectResponse("/dashboard/requests", status_code=303)


# -- requests ------------------------------------------------------------------------


_SCORE_INPUT = re.compile(r"^\s*(.+?)\s*(>=|<=|!=|=|>|<)\s*(\S+)\s*$")
_SCORE_OPS = {"=": "eq", "!=": "ne", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
_SCORE_SIGNS = {op: sign for sign, op in _SCORE_OPS.items()}


def _score_param(text: str) -> tuple[str, str]:
    """The explorer's score field (``accuracy >= 0.8``) as the API's parameter
    (``score.accuracy``, ``gte:0.8``)."""
    found = _SCORE_INPUT.match(text)
    if found is None:
        raise params.bad("score", "write it as name, comparison, value: accuracy >= 0.8")
    name, sign, value = found.groups()
    return f"score.{name}", f"{_SCORE_OPS[sign]}:{value}"


def _score_text(name: str, value: str) -> str:
    """``score.accuracy=gte:0.8`` as the explorer's field shows it: ``accuracy >= 0.8``."""
    op, sep, operand = value.partition(":")
    if not sep or op not in _SCORE_SIGNS:
        op, operand = "eq", value
    return f"{name.removeprefix('score.')} {_SCORE_SIGNS[op]} {operand}"


def _canonical(query: QueryParams) -> str | None:
    """The explorer URL without empty fields and with ``prop=name=value`` spelled as
    the API's ``property.name=value`` (and ``score=accuracy >= 0.8`` as
    ``score.accuracy=gte:0.8``); None when ``query`` is already canonical."""
    items = query.multi_items()
    changed = False
    out: list[tuple[str, str]] = []
    for name, value in items:
        if value.strip() == "":
            changed = True
        elif name == "prop":
            changed = True
            prop, _, prop_value = value.partition("=")
            if not prop.strip() or not _:
                raise params.bad("prop", "write it as name=value")
            out.append((f"property.{prop.strip()}", prop_value.strip()))
        elif name == "score":
            changed = True
            out.append(_score_param(value))
        else:
            out.append((name, value))
    return urlencode(out) if changed else None


@signed_in
async def requests_page(request: Request, session: auth.Session) -> Response:
    query = request.query_params
    store = explorer.logs_of(request)
    error = None
    records: list[dict[str, Any]] = []
    table: dict[str, Any] = {"columns": cols.DEFAULT}
    next_cursor = prev_cursor = None
    sort = NEWEST
    try:
        canonical = filterbar.canonical(query) or _canonical(query)
        if canonical is not None:
            return RedirectResponse(f"/dashboard/requests?{canonical}", status_code=303)
        params.reject_unknown(query, EXPLORER_PARAMS, FILTER_PREFIXES)
        filters = parse_filter(query)
        limit = params.integer(query, "limit", default=DEFAULT_PAGE_SIZE, low=1, high=500)
        assert limit is not None  # it has a default
        sort = sort_of(query)
        cursor, newer = page_cursor(query, sort)
        result = await store.list_requests(
            session.org_id, filters, limit=limit, cursor=cursor, newer=newer, sort=sort
        )
        records = [record_json(r, bodies=False) for r in result.records]
        next_cursor, prev_cursor = result.next_cursor, result.prev_cursor
        table = await explorer.table(request, session.org_id, filters, result.records, sort)
    except BadRequest as exc:
        error = exc.message
    filtered = any(k not in ("limit", cols.PARAM) for k in query)
    empty_org = not records and not filtered and error is None
    score_filters = [_score_text(k, v) for k, v in query.multi_items() if k.startswith("score.")]
    return page(
        "requests.html",
        400 if error else 200,
        **_context(
            request,
            session,
            "requests",
            records=records,
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
            page_sizes=PAGE_SIZES,
            sort=sort,
            default_page_size=DEFAULT_PAGE_SIZE,
            error=error,
            filters=dict(query),
            bar=filterbar.bar(query, own=EXPLORER_OWN, any_time=True),
            score_filters=score_filters,
            query_items=query.multi_items(),
            filtered=filtered,
            empty_org=empty_org,
            **table,
        ),
    )


@signed_in
async def export_page(request: Request, session: auth.Session) -> Response:
    """The explorer's filter, exported (``?format=csv|jsonl``)."""
    query = request.query_params
    try:
        params.reject_unknown(query, request_export.EXPORT_PARAMS, FILTER_PREFIXES)
        fmt = request_export.export_format(query)
        filters = parse_filter(query)
        sort_of(query)
    except BadRequest as exc:
        return page("invalid.html", 400, error=exc.message, path="/dashboard/requests")
    store = request.app.state.store
    return await request_export.export_response(store, session.org_id, filters, fmt, sort_of(query))


@signed_in
async def request_detail(request: Request, session: auth.Session) -> Response:
    store = request.app.state.store
    record = await explorer.logs_of(request).get_request(session.org_id, request.path_params["id"])
    if record is None:
        return page(
            "missing.html",
            404,
            **_context(
                request, session, "requests", what="request", ident=request.path_params["id"]
            ),
        )
    data = record_json(record, bodies=True)
    data.update(
        scores.scores_json(await scores.of_request(store.database, session.org_id, record.id))
    )
    conversation = chat.messages(data["request_body"], data["response_body"])
    keys = {key.id: key for key in await store.list_keys(session.org_id)}
    return page(
        "request.html",
        **_context(
            request,
            session,
            "requests",
            r=data,
            conversation=conversation,
            key=keys.get(record.key_id or ""),
            stream=detail.stream_label(record.stream, data["response_body"]),
            properties=detail.shown_properties(record),
            curl=as_curl(record, str(request.base_url)),
            prompt=await _filled_prompt(request, session, record),
        ),
    )


async def _filled_prompt(
    request: Request, session: auth.Session, record: LogRecord
) -> detail.FilledPrompt | None:
    """The prompt version that served ``record``, filled with its variables, as the
    proxy filled it (the prompts API's render)."""
    if record.prompt_id is None:
        return None
    who = Principal(org_id=session.org_id, key_id=session.key_id, role=session.role)
    variables = record.prompt_variables or {}
    status, body = await internal.post_json(
        request.app.state.api,
        f"/api/prompts/{quote(record.prompt_id, safe='')}/render",
        who,
        {"version": record.prompt_version, "variables": variables},
    )
    return detail.filled_prompt(variables, status, body)


# -- users and properties -------------------------------------------------------------


@signed_in
async def users_page(request: Request, session: auth.Session) -> Response:
    error, body = None, {"data": [], "total": 0}
    try:
        body = await service.users(_analytics(request), session.org_id, request.query_params)
    except BadRequest as exc:
        error = exc.message
    return page(
        "users.html",
        400 if error else 200,
        **_context(
            request,
            session,
            "users",
            users=body["data"],
            total=body["total"],
            error=error,
            filters=dict(request.query_params),
        ),
    )


@signed_in
async def properties_page(request: Request, session: auth.Session) -> Response:
    query = request.query_params
    analytics = _analytics(request)
    name = query.get("name")
    error, values, total = None, [], 0
    span_query = QueryParams([(k, v) for k, v in query.multi_items() if k in ("from", "to")])
    names = (await service.properties(analytics, session.org_id, span_query))["data"]
    if name:
        rest = QueryParams([(k, v) for k, v in query.multi_items() if k != "name"])
        try:
            body = await service.property_values(analytics, session.org_id, name, rest)
            values, total = body["data"], body["total"]
        except BadRequest as exc:
            error = exc.message
    return page(
        "properties.html",
        400 if error else 200,
        **_context(
            request,
            session,
            "properties",
            names=names,
            name=name,
            values=values,
            total=total,
            error=error,
            filters=dict(query),
        ),
    )


# -- analytics -----------------------------------------------------------------------


@signed_in
async def analytics_page(request: Request, session: auth.Session) -> Response:
    query = request.query_params
    canonical = filterbar.canonical(query)
    if canonical is not None:
        return RedirectResponse(f"/dashboard/analytics?{canonical}", status_code=303)
    analytics = _analytics(request)
    org = session.org_id
    error = None
    panels: list[dict[str, Any]] = []
    chosen = None
    summary: dict[str, Any] | None = None
    window = ("", "", "24h")
    group_by = query.get("group_by", "model")
    granularity = query.get("granularity", "")
    filters = [
        (k, v)
        for k, v in query.multi_items()
        if k
        not in (
            "range",
            "from",
            "to",
            "group_by",
            "granularity",
            "score",
            *analytics_panels.CONTROLS,
        )
        and v != ""
    ]
    names = []
    score_names: list[dict[str, Any]] = []
    score = query.get("score") or None
    try:
        window = filterbar.window(query)
        base = [("from", window[0]), ("to", window[1]), *filters]
        if granularity:
            base.append(("granularity", granularity))
        ungrouped = QueryParams([p for p in base if p[0] != "granularity"])
        summary = await service.summary(analytics, org, ungrouped)
        score_names = (await service.score_summary(analytics, org, ungrouped))["data"]
        if score is None and score_names:
            score = score_names[0]["name"]
        chosen = analytics_panels.options(query, group_by, score)
        panels = await analytics_panels.build(analytics, org, base, chosen)
        names = (await service.properties(analytics, org, QueryParams(base[:2])))["data"]
    except BadRequest as exc:
        # A bad group_by or granularity is found by the panels, after the summary.
        error, summary, panels = exc.message, None, []
    return page(
        "analytics.html",
        400 if error else 200,
        **_context(
            request,
            session,
            "analytics",
            error=error,
            summary=summary,
            panels=panels,
            window=window,
            bar=filterbar.bar(
                query,
                own={"group_by", "granularity", "score", *analytics_panels.CONTROLS},
                any_time=False,
            ),
            group_by=group_by,
            granularity=granularity,
            property_names=[n["name"] for n in names],
            score_names=[n["name"] for n in score_names],
            score=score,
            options=chosen,
            top_choices=analytics_panels.TOP_CHOICES,
            latency_stats=analytics_panels.LATENCY_STAT_CHOICES,
            explorer_base=analytics_panels.explorer_base(filters),
            extra_filters=filters,
            summary_api="/api/analytics/summary?"
            + urlencode([("from", window[0]), ("to", window[1]), *filters]),
        ),
    )


# -- prompts -------------------------------------------------------------------------


@signed_in
async def prompts_page(request: Request, session: auth.Session) -> Response:
    who = Principal(org_id=session.org_id, key_id=session.key_id, role=session.role)
    api = request.app.state.api
    status, body = await internal.get_json(api, "/api/prompts", who)
    prompts = body.get("data", []) if status == 200 and isinstance(body, dict) else []
    selected = request.query_params.get("id")
    detail, diff, versions = None, None, []
    if selected:
        base = f"/api/prompts/{_path_part(selected)}"
        status, body = await internal.get_json(api, base, who)
        if status == 200 and isinstance(body, dict):
            detail = body.get("data")
            status, listed = await internal.get_json(api, f"{base}/versions", who)
            found = listed.get("data", []) if status == 200 and isinstance(listed, dict) else []
            versions = sorted(found, key=lambda v: v.get("version", 0))
            diff = _diff(versions, request.query_params)
    return page(
        "prompts.html",
        **_context(
            request,
            session,
            "prompts",
            prompts=prompts,
            selected=selected,
            detail=detail,
            versions=versions,
            diff=diff,
        ),
    )


def _path_part(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _version_text(version: dict[str, Any]) -> list[str]:
    shown = {k: version.get(k) for k in ("model", "parameters", "system", "messages")}
    return orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode().splitlines()


def _diff(versions: list[dict[str, Any]], query: QueryParams) -> dict[str, Any] | None:
    if len(versions) < 2:
        return None
    numbers: list[int] = [v["version"] for v in versions]
    try:
        old = int(query.get("from_version") or numbers[-2])
        new = int(query.get("to_version") or numbers[-1])
    except ValueError:
        return None
    by_number = {v.get("version"): v for v in versions}
    if old not in by_number or new not in by_number:
        return None
    lines = list(
        difflib.unified_diff(
            _version_text(by_number[old]),
            _version_text(by_number[new]),
            f"version {old}",
            f"version {new}",
            lineterm="",
        )
    )
    return {"from": old, "to": new, "lines": lines}
