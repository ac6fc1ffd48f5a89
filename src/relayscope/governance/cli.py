"""``relayscope data ...`` and ``relayscope redaction ...``."""

from __future__ import annotations

import sys
from typing import IO

import click
from redis.asyncio import Redis

from relayscope.cache.build import create_cache_eraser
from relayscope.clitools import existing_org, org_option, with_store
from relayscope.config import Settings
from relayscope.governance import export as exporting
from relayscope.governance.redaction import REPLACEMENT, Rule, validate
from relayscope.governance.repository import GovernanceRepository
from relayscope.governance.service import MAX_RETENTION_DAYS, Governance
from relayscope.store.sql import SqlStore


def _governance(store: SqlStore) -> Governance:
    settings = Settings.from_env()
    repository = GovernanceRepository(store.database, records_here=not settings.logs_url)
    return Governance(repository, settings.governance)


async def _delete_user(store: SqlStore, org_id: str, user_id: str) -> dict[str, int]:
    """As the API does, less a running gateway's memory cache (the API reaches that)."""
    settings = Settings.from_env()
    governance = _governance(store)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        eraser = create_cache_eraser(
            settings.cache,
            stage=None,
            database=store.database,
            redis=redis,
            redis_prefix=settings.redis_prefix,
        )
        governance.on_delete_user("cache_entries", eraser.delete_user)
        return await governance.delete_user(org_id, user_id)
    finally:
        if redis is not None:
            await redis.aclose()


@click.group()
def data() -> None:
    """Delete, export and expire logged data."""


@data.command("delete")
@org_option()
@click.option("--user-id", required=True, help="Delete everything held about this user.")
def data_delete(org_name: str, user_id: str) -> None:
    """Delete every record (and cached item) that holds a user's data."""

    async def work(store: SqlStore) -> dict[str, int]:
        org = await existing_org(store, org_name)
        return await _delete_user(store, org.id, user_id)

    report = with_store(work)
    for kind, count in report.items():
        click.echo(f"deleted {count} {kind}")


@data.command("export")
@org_option()
@click.option("--user-id", default=None, help="Only this user's records.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(exporting.FORMATS),
    default="jsonl",
    show_default=True,
    help="JSON Lines, or CSV with a header line.",
)
@click.option("--output", type=click.File("wb"), default="-", help="File (default: stdout).")
def data_export(org_name: str, user_id: str | None, fmt: str, output: IO[bytes]) -> None:
    """Write records with their scores and feedback, oldest first."""

    async def work(store: SqlStore) -> int:
        org = await existing_org(store, org_name)
        count = 0
        if fmt == "csv":
            output.write(exporting.csv_header())
        repo = GovernanceRepository(store.database)
        async for record, held in repo.export(org.id, user_id=user_id):
            output.write(exporting.line(fmt, record, held))
            count += 1
        return count

    count = with_store(work)
    click.echo(f"exported {count} records", err=True)


@data.command("retention")
@org_option()
@click.option(
    "--days",
    type=click.IntRange(min=1, max=MAX_RETENTION_DAYS),
    default=None,
    help="Keep this many days.",
)
@click.option("--clear", is_flag=True, help="Keep records forever (or the global default).")
def data_retention(org_name: str, days: int | None, clear: bool) -> None:
    """Show or set how long an org's records are kept."""

    async def work(store: SqlStore) -> int | None:
        org = await existing_org(store, org_name)
        repo = GovernanceRepository(store.database)
        if days is not None or clear:
            await repo.set_retention(org.id, None if clear else days)
        return (await repo.retention()).get(org.id)

    kept = with_store(work)
    click.echo(f"retention: {kept} days" if kept else "retention: not set")


@click.group()
def redaction() -> None:
    """Redaction rules applied to stored bodies."""


@redaction.command("add")
@org_option()
@click.option("--detector", type=click.Choice(["email", "phone", "card", "api_key"]))
@click.option("--pattern", help="A regular expression to redact.")
@click.option("--replacement", default=REPLACEMENT, show_default=True)
def redaction_add(
    org_name: str, detector: str | None, pattern: str | None, replacement: str
) -> None:
    """Add a rule: a built-in --detector or your own --pattern."""
    if detector is not None and pattern is None:
        kind, value = "detector", detector
    elif pattern is not None and detector is None:
        kind, value = "pattern", pattern
    else:
        raise click.UsageError("give exactly one of --detector or --pattern")
    problem = validate(kind, value)
    if problem:
        raise click.BadParameter(problem)

    async def work(store: SqlStore) -> str:
        org = await existing_org(store, org_name)
        rule = await GovernanceRepository(store.database).add_rule(org.id, kind, value, replacement)
        return rule.id

    click.echo(with_store(work))


@redaction.command("list")
@org_option()
def redaction_list(org_name: str) -> None:
    async def work(store: SqlStore) -> list[tuple[str, Rule]]:
        org = await existing_org(store, org_name)
        return await GovernanceRepository(store.database).rules(org.id)

    for _org, rule in with_store(work):
        click.echo(f"{rule.id}  {rule.kind}  {rule.value}  -> {rule.replacement}")


@redaction.command("delete")
@org_option()
@click.argument("rule_id")
def redaction_delete(org_name: str, rule_id: str) -> None:
    async def work(store: SqlStore) -> bool:
        org = await existing_org(store, org_name)
        return await GovernanceRepository(store.database).delete_rule(org.id, rule_id)

    if not with_store(work):
        click.echo(f"no rule {rule_id!r}", err=True)
        sys.exit(1)
    click.echo(f"deleted {rule_id}")
