"""``relayscope alerts``: rules, channels, test notifications and history, per org."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from relayscope.alerts.channels import parse_channel
from relayscope.alerts.rules import parse_rule
from relayscope.alerts.service import AlertsService
from relayscope.clitools import org_option
from relayscope.config import Settings
from relayscope.errors import BadRequest
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")


def run_for_org(org_name: str, work: Callable[[SqlStore, str, Settings], Awaitable[T]]) -> T:
    """Run ``work(store, org_id, settings)`` on the configured store; errors as CLI errors."""

    async def run() -> T:
        settings = Settings.from_env()
        store = open_store(settings.store_url)
        try:
            await store.migrate()
            org = await store.get_org(org_name)
            if org is None:
                raise click.ClickException(f"no org named {org_name!r}")
            return await work(store, org.id, settings)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except BadRequest as exc:
        raise click.ClickException(exc.message) from None


def parse_properties(pairs: tuple[str, ...]) -> dict[str, str]:
    properties = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--property")
        properties[name] = value
    return properties


@click.group()
def alerts() -> None:
    """Alert rules, channels and history."""


@alerts.group()
def rules() -> None:
    """Alert rules."""


@rules.command("add")
@org_option()
@click.option("--name", required=True)
@click.option(
    "--metric",
    required=True,
    help="cost_usd, error_rate, latency_p50, latency_p95, latency_p99, request_count, "
    "score_avg (with --score) or tokens.",
)
@click.option("--score", default=None, help="The score a score_avg rule averages.")
@click.option("--threshold", required=True, type=float)
@click.option("--comparison", default=">", show_default=True, help=">, >=, < or <=.")
@click.option("--window", required=True, help="Duration such as 5m, 1h or 1d.")
@click.option(
    "--min-requests", type=int, default=None, help="Error-rate, latency and score rules only."
)
@click.option("--mode", default="absolute", show_default=True, help="absolute or relative.")
@click.option("--cooldown", default="5m", show_default=True)
@click.option("--channel", "channels", multiple=True, help="Channel id (repeatable).")
@click.option("--model", default=None)
@click.option("--provider", default=None)
@click.option("--user-id", default=None)
@click.option("--property", "properties", multiple=True, help="NAME=VALUE (repeatable).")
@click.option("--disabled", is_flag=True, help="Create the rule switched off.")
def rules_add(
    org_name: str,
    model: str | None,
    provider: str | None,
    user_id: str | None,
    properties: tuple[str, ...],
    channels: tuple[str, ...],
    disabled: bool,
    min_requests: int | None,
    score: str | None,
    **definition: Any,
) -> None:
    """Add a rule; prints its id."""
    filters: dict[str, Any] = {
        k: v for k, v in (("model", model), ("provider", provider), ("user_id", user_id)) if v
    }
    if properties:
        filters["properties"] = parse_properties(properties)
    data = {**definition, "filters": filters, "channels": list(channels), "enabled": not disabled}
    if min_requests is not None:
        data["min_requests"] = min_requests
    if score is not None:
        data["score"] = score

    async def work(store: SqlStore, org_id: str, settings: Settings) -> str:
        spec = parse_rule(data)
        service = AlertsService(settings.alerts, store.database)
        try:
            known = {c.id for c in await service.repository.list_channels(org_id, spec.channels)}
            missing = [c for c in spec.channels if c not in known]
            if missing:
                raise click.ClickException(f"no channel {missing[0]!r} in org {org_name!r}")
            rule = await service.repository.create_rule(org_id, spec)
        finally:
            await service.stop()
        return f"{rule.id}  {spec.name}: {spec.describe()}"

    click.echo(run_for_org(org_name, work))


@rules.command("list")
@org_option()
def rules_list(org_name: str) -> None:
    """List rules with their state."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> list[str]:
        service = AlertsService(settings.alerts, store.database)
        try:
            found = await service.repository.list_rules(org_id)
        finally:
            await service.stop()
        return [
            f"{r.id}  {r.state:<8}  {r.spec.name}: {r.spec.describe()}"
            + ("" if r.spec.enabled else "  (disabled)")
            for r in found
        ]

    for line in run_for_org(org_name, work):
        click.echo(line)


@rules.command("delete")
@org_option()
@click.argument("rule_id")
def rules_delete(org_name: str, rule_id: str) -> None:
    """Delete a rule by id."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> bool:
        service = AlertsService(settings.alerts, store.database)
        try:
            return await service.repository.delete_rule(org_id, rule_id)
        finally:
            await service.stop()

    if not run_for_org(org_name, work):
        raise click.ClickException(f"no rule {rule_id!r} in org {org_name!r}")
    click.echo(f"deleted {rule_id}")


@alerts.group()
def channels() -> None:
    """Notification channels."""


@channels.command("add")
@org_option()
@click.option("--name", required=True)
@click.option("--type", "kind", required=True, type=click.Choice(["webhook", "slack", "email"]))
@click.option("--url", default=None, help="Webhook or Slack incoming-webhook URL.")
@click.option(
    "--secret", default=None, help="Webhook signing secret (default: generated, printed once)."
)
@click.option("--to", "recipients", multiple=True, help="Email recipient (repeatable).")
def channels_add(
    org_name: str,
    name: str,
    kind: str,
    url: str | None,
    secret: str | None,
    recipients: tuple[str, ...],
) -> None:
    """Add a channel; prints its id (and a generated signing secret, once)."""
    data: dict[str, Any] = {"name": name, "type": kind}
    generated = None
    if kind == "email":
        data["to"] = list(recipients)
    else:
        data["url"] = url
    if kind == "webhook":
        generated = None if secret else secrets.token_urlsafe(32)
        data["secret"] = secret or generated

    async def work(store: SqlStore, org_id: str, settings: Settings) -> str:
        fields = parse_channel(
            data,
            allow_private=settings.alerts.allow_private_targets,
            email_ready=bool(settings.alerts.smtp_host),
        )
        service = AlertsService(settings.alerts, store.database)
        try:
            channel = await service.repository.create_channel(org_id, *fields)
        finally:
            await service.stop()
        return channel.id

    channel_id = run_for_org(org_name, work)
    click.echo(f"Created {kind} channel {channel_id}")
    if generated:
        click.echo("Signing secret (shown only now; receivers verify X-RelayScope-Signature):")
        click.echo(generated)


@channels.command("list")
@org_option()
def channels_list(org_name: str) -> None:
    """List channels (secrets masked)."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> list[str]:
        service = AlertsService(settings.alerts, store.database)
        try:
            found = await service.repository.list_channels(org_id)
        finally:
            await service.stop()
        lines = []
        for channel in found:
            shown = channel.to_json()["config"]
            target = ", ".join(shown["to"]) if channel.kind == "email" else shown["url"]
            lines.append(f"{channel.id}  {channel.kind:<7}  {channel.name}  {target}")
        return lines

    for line in run_for_org(org_name, work):
        click.echo(line)


@channels.command("test")
@org_option()
@click.argument("channel_id")
def channels_test(org_name: str, channel_id: str) -> None:
    """Send a test notification through a channel."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> tuple[bool, str]:
        service = AlertsService(settings.alerts, store.database)
        try:
            channel = await service.repository.get_channel(org_id, channel_id)
            if channel is None:
                raise click.ClickException(f"no channel {channel_id!r} in org {org_name!r}")
            delivery = await service.send_test(channel)
        finally:
            await service.stop()
        return delivery.ok, delivery.error or ""

    ok, error = run_for_org(org_name, work)
    if not ok:
        raise click.ClickException(f"test notification failed: {error}")
    click.echo(f"test notification delivered through {channel_id}")


@alerts.command("history")
@org_option()
@click.option("--rule", "rule_id", default=None, help="Only this rule's events.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
def history(org_name: str, rule_id: str | None, limit: int) -> None:
    """Firings and resolutions, newest first."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> list[str]:
        service = AlertsService(settings.alerts, store.database)
        try:
            events, _ = await service.repository.list_events(
                org_id, rule_id=rule_id, limit=limit, cursor=None
            )
        finally:
            await service.stop()
        lines = []
        for e in events:
            sent = sum(1 for d in e.deliveries if d.get("ok"))
            value = "n/a" if e.value is None else f"{e.value:g}"
            lines.append(
                f"{e.created_at:%Y-%m-%d %H:%M:%S}  {e.kind:<8}  {e.rule_name}  value={value}  "
                f"requests={e.request_count}  notified={sent}/{len(e.deliveries)}"
            )
        return lines

    for line in run_for_org(org_name, work):
        click.echo(line)
