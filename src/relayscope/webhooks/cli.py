"""``relayscope webhooks``: an org's request webhooks."""

from __future__ import annotations

import secrets

import click

from relayscope.alerts.cli import parse_properties, run_for_org
from relayscope.clitools import org_option
from relayscope.config import Settings
from relayscope.store.sql import SqlStore
from relayscope.webhooks.repository import WebhookRepository, parse_webhook


@click.group()
def webhooks() -> None:
    """Request webhooks: POST every logged request to a URL."""


@webhooks.command("add")
@org_option()
@click.option("--url", required=True)
@click.option("--secret", default=None, help="Signing secret (default: generated, printed once).")
@click.option("--include-bodies", is_flag=True, help="Send request and response bodies too.")
@click.option("--property", "properties", multiple=True, help="Only records with NAME=VALUE.")
def webhooks_add(
    org_name: str, url: str, secret: str | None, include_bodies: bool, properties: tuple[str, ...]
) -> None:
    """Add a request webhook; prints its id (and a generated secret, once)."""
    generated = None if secret else secrets.token_urlsafe(32)
    data = {
        "url": url,
        "secret": secret or generated,
        "include_bodies": include_bodies,
        "properties": parse_properties(properties),
    }

    async def work(store: SqlStore, org_id: str, settings: Settings) -> str:
        fields = parse_webhook(data, allow_private=settings.alerts.allow_private_targets)
        return (await WebhookRepository(store.database).create(org_id, **fields)).id

    click.echo(f"Created webhook {run_for_org(org_name, work)}")
    if generated:
        click.echo("Signing secret (shown only now; receivers verify X-RelayScope-Signature):")
        click.echo(generated)


@webhooks.command("list")
@org_option()
def webhooks_list(org_name: str) -> None:
    """List request webhooks (secrets masked)."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> list[str]:
        lines = []
        for hook in await WebhookRepository(store.database).list(org_id):
            shown = hook.to_json()
            flags = " bodies" if hook.include_bodies else ""
            where = " ".join(f"{k}={v}" for k, v in hook.properties.items())
            lines.append(f"{hook.id}  {shown['url']}{flags}  {where}".rstrip())
        return lines

    for line in run_for_org(org_name, work):
        click.echo(line)


@webhooks.command("delete")
@org_option()
@click.argument("webhook_id")
def webhooks_delete(org_name: str, webhook_id: str) -> None:
    """Delete a request webhook by id."""

    async def work(store: SqlStore, org_id: str, settings: Settings) -> bool:
        return await WebhookRepository(store.database).delete(org_id, webhook_id)

    if not run_for_org(org_name, work):
        raise click.ClickException(f"no webhook {webhook_id!r} in org {org_name!r}")
    click.echo(f"deleted {webhook_id}")
