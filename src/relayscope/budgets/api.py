"""``/api/teams`` and ``/api/budgets``: an org's teams, the keys they hold, and its
budgets with what each has spent in its current period (read from the log store).

Every call needs an admin key: these are the org's configuration. Gateways pick
changes up within ``RELAYSCOPE_BUDGETS_BOOK_TTL`` seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import admin
from relayscope.api.services import api_services
from relayscope.budgets.model import Budget
from relayscope.budgets.repository import BudgetRepository, TeamExists
from relayscope.budgets.spec import SpecError, parse_spec
from relayscope.errors import BadRequest, Conflict, NotFound

MAX_NAME = 128


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def _repository(request: Request) -> BudgetRepository:
    return BudgetRepository(api_services(request).store.database)


def _changed(request: Request) -> None:
    changed = api_services(request).budgets_changed
    if changed is not None:
        changed()


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("Request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


async def teams(request: Request) -> Response:
    who = await admin(request)
    repository = _repository(request)
    if request.method == "GET":
        return _json({"data": [t.to_json() for t in await repository.list_teams(who.org_id)]})
    body = await _body(request)
    unknown = set(body) - {"name"}
    if unknown:
        field = sorted(unknown)[0]
        raise BadRequest(f"Invalid field '{field}': unknown field (expected name)", param=field)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise BadRequest(
            f"Invalid field 'name': required, a string of 1 to {MAX_NAME} characters",
            param="name",
        )
    try:
        team = await repository.create_team(who.org_id, name.strip())
    except TeamExists:
        raise Conflict(f"This org already has a team named {name.strip()!r}") from None
    _changed(request)
    return _json({"data": team.to_json()}, 201)


async def team(request: Request) -> Response:
    who = await admin(request)
    team_id = request.path_params["id"]
    repository = _repository(request)
    if request.method == "DELETE":
        if not await repository.delete_team(who.org_id, team_id):
            raise NotFound(f"No team {team_id!r} in this org")
        _changed(request)
        return _json({"data": {"id": team_id, "deleted": True}})
    found = await repository.get_team(who.org_id, team_id)
    if found is None:
        raise NotFound(f"No team {team_id!r} in this org")
    return _json({"data": found.to_json()})


async def team_key(request: Request) -> Response:
    who = await admin(request)
    team_id, key_id = request.path_params["id"], request.path_params["key_id"]
    repository = _repository(request)
    if await repository.get_team(who.org_id, team_id) is None:
        raise NotFound(f"No team {team_id!r} in this org")
    if request.method == "DELETE":
        if not await repository.remove_key(who.org_id, team_id, key_id):
            raise NotFound(f"Key {key_id!r} is not in team {team_id!r}")
    else:
        if not await repository.key_in_org(who.org_id, key_id):
            raise NotFound(f"No key {key_id!r} in this org")
        await repository.add_key(who.org_id, team_id, key_id)
    _changed(request)
    updated = await repository.get_team(who.org_id, team_id)
    assert updated is not None
    return _json({"data": updated.to_json()})


async def budgets(request: Request) -> Response:
    who = await admin(request)
    repository = _repository(request)
    if request.method == "GET":
        found = await repository.list_budgets(who.org_id)
        return _json({"data": [await _with_spend(repository, b) for b in found]})
    try:
        spec = parse_spec(await _body(request))
    except SpecError as exc:
        raise BadRequest(str(exc), param=exc.field) from None
    target = spec.target or ""
    if spec.level == "team" and await repository.get_team(who.org_id, target) is None:
        raise BadRequest(f"Invalid field 'target': no team {target!r} in this org", param="target")
    if spec.level == "key" and not await repository.key_in_org(who.org_id, target):
        raise BadRequest(f"Invalid field 'target': no key {target!r} in this org", param="target")
    budget = await repository.create_budget(who.org_id, spec)
    _changed(request)
    return _json({"data": await _with_spend(repository, budget)}, 201)


async def budget(request: Request) -> Response:
    who = await admin(request)
    budget_id = request.path_params["id"]
    repository = _repository(request)
    if request.method == "DELETE":
        if not await repository.delete_budget(who.org_id, budget_id):
            raise NotFound(f"No budget {budget_id!r} in this org")
        _changed(request)
        return _json({"data": {"id": budget_id, "deleted": True}})
    found = await repository.get_budget(who.org_id, budget_id)
    if found is None:
        raise NotFound(f"No budget {budget_id!r} in this org")
    shown = await _with_spend(repository, found)
    shown["alerts"] = await repository.alerts(who.org_id, budget_id)
    return _json({"data": shown})


async def _with_spend(repository: BudgetRepository, budget: Budget) -> dict[str, Any]:
    """The budget, its current period and what the log store says it spent in it."""
    period = budget.window(datetime.now(UTC))
    keys: tuple[str, ...] = ()
    if budget.level == "team":
        found = await repository.get_team(budget.org_id, budget.target or "")
        keys = found.key_ids if found else ()
    spend = await repository.logged_spend(budget, period, keys)
    return {
        **budget.to_json(),
        "period_start": period.start.isoformat(),
        "resets_at": period.end.isoformat(),
        "spent_usd": spend.usd,
        "spent_tokens": spend.tokens,
    }


routes = [
    Route("/api/teams", teams, methods=["GET", "POST"]),
    Route("/api/teams/{id}", team, methods=["GET", "DELETE"]),
    Route("/api/teams/{id}/keys/{key_id}", team_key, methods=["PUT", "DELETE"]),
    Route("/api/budgets", budgets, methods=["GET", "POST"]),
    Route("/api/budgets/{id}", budget, methods=["GET", "DELETE"]),
]
