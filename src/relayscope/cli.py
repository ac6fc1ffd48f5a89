"""The ``relayscope`` command: serve the gateway, manage keys, migrate the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import cast

import click
from sqlalchemy.exc import IntegrityError

from relayscope.auth.keys import ADMIN, PROXY
from relayscope.clitools import existing_org, org_option, with_store
from relayscope.config import Settings, unknown_variables
from relayscope.store.base import KeyInfo
from relayscope.store.sql import SqlStore


@click.group()
@click.version_option(
    package_name="relayscope", prog_name="relayscope", message="%(prog)s %(version)s"
)
def main() -> None:
    """RelayScope: an observability gateway for LLM APIs."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--log-level", default="info", show_default=True)
def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Run the gateway."""
    import uvicorn

    from relayscope.fdlimit import raise_fd_limit
    from relayscope.proxy.http_protocol import http_protocol

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for warning in unknown_variables():
        logging.getLogger("relayscope.config").warning(warning)
    settings = Settings.from_env()
    fds = raise_fd_limit()
    if fds.after < 2 * settings.upstream_max_connections:
        logging.getLogger("relayscope").warning(
            "file descriptors: %d per process holds about %d streams (two each), fewer than "
            "RELAYSCOPE_UPSTREAM_MAX_CONNECTIONS=%d: raise the hard limit (ulimit -Hn)",
            fds.after, fds.after // 2, settings.upstream_max_connections,
        )  # fmt: skip
    if workers > 1:
        from relayscope import metrics

        metrics.share_between_workers(settings.data_dir)
    first_key = with_store(_bootstrap)
    click.echo(f"RelayScope store: {settings.store_url}")
    if first_key:
        click.echo("Created org 'default' with an admin gateway key (shown once, keep it):")
        click.echo(f"  {first_key}")
    click.echo(f"Proxy: http://{host}:{port}/openai/v1  http://{host}:{port}/anthropic")
    uvicorn.run(
        "relayscope.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # uvicorn calls its ``http`` option like a class, so a factory does as well.
        http=cast("type[asyncio.Protocol]", http_protocol(settings)),
        log_level=log_level,
        access_log=False,
        # Nothing reads the client address, and a gateway need not name its server.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=30,
    )


async def _bootstrap(store: SqlStore) -> str | None:
    """On an empty store, create the default org and its first key."""
    if await store.count_orgs():
        return None
    try:
        org = await store.ensure_org("default")
    except IntegrityError:  # a replica starting at the same time made it first
        return None
    _info, key = await store.create_key(org.id, name="default", role=ADMIN)
    return key


@main.command("config")
def show_config() -> None:
    """Print every setting: environment variable, current value, meaning."""
    from relayscope.config import reference

    settings = Settings.from_env()
    for name, value, help_text in reference(settings):
        if name == "RELAYSCOPE_PROVIDER_BASE_URLS":
            _show_upstreams(settings.provider_base_urls)
        else:
            click.echo(f"{name}={_masked(name, value)}\n    {help_text}")


def _show_upstreams(overrides: Mapping[str, str]) -> None:
    """Each provider's effective upstream, as its RELAYSCOPE_<PROVIDER>_BASE_URL."""
    from relayscope.providers.registry import ProviderRegistry

    try:
        registry = ProviderRegistry(overrides=overrides)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for provider in registry:
        origin = "set" if overrides.get(provider.name) else "built-in default"
        click.echo(
            f"RELAYSCOPE_{provider.name.upper()}_BASE_URL={provider.base_url}\n"
            f"    {provider.name} upstream ({origin}): {provider.describe_route()}"
        )
    unknown = sorted(set(overrides) - set(registry.names()))
    for name in unknown:
        click.echo(
            f"RELAYSCOPE_{name.upper()}_BASE_URL={overrides[name]}\n"
            f"    ignored: no provider named {name!r}"
        )


def _masked(name: str, value: object) -> object:
    """Secrets are never printed: keys and passwords, and credentials inside URLs."""
    if value and ("SECRET" in name or "PASSWORD" in name):
        return "********"
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, rest = value.split("://", 1)
        return f"{scheme}://********@{rest.rsplit('@', 1)[1]}"
    return value


@main.command()
def migrate() -> None:
    """Apply schema migrations to the configured store."""
    with_store(lambda store: asyncio.sleep(0))
    logs_url = Settings.from_env().logs_url
    if logs_url:
        from relayscope.store.logs import open_log_store

        async def migrate_logs() -> None:
            logs = open_log_store(logs_url)
            try:
                await logs.migrate()
            finally:
                await logs.close()

        asyncio.run(migrate_logs())
    click.echo("store is up to date")


@main.group()
def keys() -> None:
    """Gateway API keys."""


@keys.command("create")
@org_option("Org name (created if new).")
@click.option("--name", default=None, help="A label for the key.")
@click.option(
    "--admin",
    is_flag=True,
    help="An admin key: may also manage the org (policies, provider keys, alerts, "
    "webhooks, redaction, retention, deletion, prompts). Without it the key may only "
    "proxy and read the org's logs.",
)
def keys_create(org_name: str, name: str | None, admin: bool) -> None:
    """Create a key; it is printed once, alone on the last line."""
    role = ADMIN if admin else PROXY

    async def work(store: SqlStore) -> tuple[str, str]:
        org = await store.ensure_org(org_name)
        info, key = await store.create_key(org.id, name=name, role=role)
        return info.id, key

    key_id, key = with_store(work)
    click.echo(f"Created {role} key {key_id} for org {org_name!r}. It is shown only now:")
    click.echo(key)


@keys.command("list")
@org_option()
def keys_list(org_name: str) -> None:
    """List an org's keys (ids and prefixes; keys themselves are never stored)."""

    async def work(store: SqlStore) -> list[KeyInfo]:
        org = await existing_org(store, org_name)
        return await store.list_keys(org.id)

    for info in with_store(work):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id}  {info.prefix}…  {info.name or '-'}  {info.role}  {state}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    if not with_store(lambda store: store.revoke_key(key_id)):
        raise click.ClickException(f"no active key with id {key_id!r}")
    click.echo(f"revoked {key_id}")


@keys.command("role")
@click.argument("key_id")
@click.argument("role", type=click.Choice([ADMIN, PROXY]))
def keys_role(key_id: str, role: str) -> None:
    """Make an active key an admin key or a proxy key (every gateway sharing the store
    applies it within a second)."""
    if not with_store(lambda store: store.set_key_role(key_id, role)):
        raise click.ClickException(f"no active key with id {key_id!r}")
    click.echo(f"key {key_id} is now a {role} key")


def _register_feature_commands() -> None:
    from relayscope.alerts.cli import alerts
    from relayscope.analytics.cli import analytics
    from relayscope.budgets.cli import budgets, teams
    from relayscope.datasets.cli import datasets
    from relayscope.evaluators.cli import evaluators
    from relayscope.experiments.cli import experiments
    from relayscope.governance.cli import data, redaction
    from relayscope.logs.cli import logs
    from relayscope.prompts.cli import prompts
    from relayscope.ratelimit.cli import ratelimits
    from relayscope.retry.cli import provider_keys
    from relayscope.store.cli import export
    from relayscope.virtualkeys.cli import commands as virtual_key_commands
    from relayscope.webhooks.cli import webhooks

    for group in (
        data,
        redaction,
        provider_keys,
        prompts,
        alerts,
        webhooks,
        ratelimits,
        teams,
        budgets,
        analytics,
        export,
        logs,
        datasets,
        experiments,
        evaluators,
    ):
        main.add_command(group)
    for command in virtual_key_commands:
        keys.add_command(command)


_register_feature_commands()
