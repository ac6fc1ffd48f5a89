"""``relayscope evaluators``: an org's evaluators, and running one now.

``list``, ``create`` and ``delete`` work on the store, like the other configuration
commands (a running gateway's live sampler sees a change within
``RELAYSCOPE_EVALUATORS_CACHE_TTL``). ``run`` asks a running gateway's API to run the
evaluator, so an LLM judge's calls go through that gateway and are logged there.
"""

from __future__ import annotations

import json

import click
import httpx

from relayscope.clitools import existing_org, org_option, with_store
from relayscope.errors import GatewayError
from relayscope.evaluators import spec
from relayscope.evaluators.model import KINDS, Evaluator
from relayscope.evaluators.repository import EvaluatorRepository
from relayscope.store.sql import SqlStore


@click.group()
def evaluators() -> None:
    """Evaluators: checks on an org's requests whose verdicts become scores."""


@evaluators.command("list")
@org_option()
def evaluators_list(org_name: str) -> None:
    """List the org's evaluators: id, name, kind, sample rate, scored and failed counts."""

    async def work(store: SqlStore) -> list[Evaluator]:
        org = await existing_org(store, org_name)
        return await EvaluatorRepository(store.database).of_org(org.id)

    for e in with_store(work):
        click.echo(
            f"{e.id}  {e.name}  {e.kind}  sample {e.sample_rate:g}  "
            f"scored {e.scored}  failed {e.failed}"
        )


@evaluators.command("create")
@org_option()
@click.option("--name", required=True, help="Its name, and the name of the score it writes.")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--config", "config_json", required=True, help="The kind's settings, as JSON.")
@click.option("--sample-rate", type=float, default=0.0, help="Share of live traffic (default 0).")
@click.option("--description", default="")
def evaluators_create(
    org_name: str,
    name: str,
    kind: str,
    config_json: str,
    sample_rate: float,
    description: str,
) -> None:
    """Create an evaluator; prints its id. Settings are checked as the API checks them."""
    try:
        config = json.loads(config_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON ({exc})", param_hint="--config") from None
    try:
        check = spec.check(kind, config)
        checked = (
            spec.name(name),
            spec.sample_rate(sample_rate),
            spec.description(description),
        )
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None

    async def work(store: SqlStore) -> Evaluator:
        org = await existing_org(store, org_name)
        name_, rate, text = checked
        repository = EvaluatorRepository(store.database)
        return await repository.create(org.id, name_, check, sample_rate=rate, description=text)

    try:
        created = with_store(work)
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created evaluator {created.id} ({created.name})")


@evaluators.command("delete")
@org_option()
@click.argument("evaluator_id")
def evaluators_delete(org_name: str, evaluator_id: str) -> None:
    """Delete an evaluator by id (the scores it wrote stay)."""

    async def work(store: SqlStore) -> bool:
        org = await existing_org(store, org_name)
        return await EvaluatorRepository(store.database).delete(org.id, evaluator_id)

    if not with_store(work):
        raise click.ClickException(f"no evaluator {evaluator_id!r} in org {org_name!r}")
    click.echo(f"deleted {evaluator_id}")


@evaluators.command("run")
@click.argument("evaluator_id")
@click.option(
    "--gateway",
    envvar="RELAYSCOPE_GATEWAY_URL",
    default="http://127.0.0.1:8787",
    show_default=True,
    help="The running gateway to run it on (env RELAYSCOPE_GATEWAY_URL).",
)
@click.option(
    "--key",
    envvar="RELAYSCOPE_ADMIN_KEY",
    required=True,
    help="An admin key of the evaluator's org (env RELAYSCOPE_ADMIN_KEY).",
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    help="An explorer filter NAME=VALUE, as /api/requests takes it "
    "(model=gpt-4o, property.team=support, score.helpful=false, ...). Repeatable.",
)
@click.option("--limit", type=int, default=None, help="The newest this many (default 100).")
@click.option("--request-id", "request_ids", multiple=True, help="These requests instead.")
def evaluators_run(
    evaluator_id: str,
    gateway: str,
    key: str,
    filters: tuple[str, ...],
    limit: int | None,
    request_ids: tuple[str, ...],
) -> None:
    """Run an evaluator now over an explorer filter (or chosen requests); the verdicts
    are stored as scores. Prints one line per request."""
    params: list[tuple[str, str]] = []
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--filter")
        params.append((name, value))
    if limit is not None:
        params.append(("limit", str(limit)))
    if request_ids and params:
        raise click.UsageError("give --request-id or --filter/--limit, not both")
    body = {"request_ids": list(request_ids)} if request_ids else None
    try:
        response = httpx.post(
            f"{gateway.rstrip('/')}/api/evaluators/{evaluator_id}/run",
            params=tuple(params),
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=None,
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"could not reach the gateway at {gateway}: {exc}") from None
    answer = response.json()
    if response.status_code != 200:
        raise click.ClickException(answer.get("error", {}).get("message", response.text))
    summary = answer["data"]
    for result in summary["results"]:
        shown = result["error"] if result["score"] is None else json.dumps(result["score"])
        click.echo(f"{result['request_id']}  {shown}")
    click.echo(f"{summary['evaluator']}: scored {summary['scored']}, failed {summary['failed']}")
