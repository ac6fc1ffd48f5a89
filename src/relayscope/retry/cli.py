"""``relayscope provider-keys``: set, list and delete an org's provider keys."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from relayscope.clitools import org_option
from relayscope.config import Settings
from relayscope.errors import GatewayError
from relayscope.retry.api import PROVIDER_NAMES, check_key
from relayscope.retry.crypto import SecretBox
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")


def _run(org_name: str, work: Callable[[ProviderKeys, str], Awaitable[T]]) -> T:
    settings = Settings.from_env()

    async def run() -> T:
        store: SqlStore = open_store(settings.store_url)
        try:
            await store.migrate()
            org = await store.get_org(org_name)
            if org is None:
                raise click.ClickException(f"no org named {org_name!r}")
            keys = ProviderKeys(store.database, SecretBox(settings.secret_key, settings.data_dir))
            return await work(keys, org.id)
        finally:
            await store.close()

    return asyncio.run(run())


_provider = click.option(
    "--provider",
    required=True,
    type=click.Choice(sorted(PROVIDER_NAMES)),
    help="Registry name of the provider.",
)
_org = org_option()


@click.group("provider-keys")
def provider_keys() -> None:
    """Provider API keys the gateway uses for an org's cross-provider fallbacks."""


@provider_keys.command("set")
@_org
@_provider
def set_key(org_name: str, provider: str) -> None:
    """Store a key, read from standard input (or prompted for, hidden)."""
    if sys.stdin.isatty():
        raw = click.prompt(f"{provider} API key", hide_input=True)
    else:
        raw = sys.stdin.readline()
    try:
        key = check_key(raw)
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None
    info = _run(org_name, lambda keys, org_id: keys.set(org_id, provider, key))
    click.echo(f"stored the {provider} key ending in {info.last4} for org {org_name!r}")


@provider_keys.command("list")
@_org
def list_keys(org_name: str) -> None:
    """List the providers with a key (never the keys themselves)."""
    for info in _run(org_name, lambda keys, org_id: keys.list(org_id)):
        click.echo(f"{info.provider}  …{info.last4}  set {info.created_at:%Y-%m-%d %H:%M}")


@provider_keys.command("delete")
@_org
@_provider
def delete_key(org_name: str, provider: str) -> None:
    """Remove the org's key for a provider."""
    if not _run(org_name, lambda keys, org_id: keys.delete(org_id, provider)):
        raise click.ClickException(f"no {provider} key for org {org_name!r}")
    click.echo(f"deleted the {provider} key of org {org_name!r}")
