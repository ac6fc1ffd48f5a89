"""The ``relayscope`` command: serve the gateway, manage keys, migrate the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import IntegrityError

from relayscope.config import Settings
from relayscope.store.cli import export
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")


def _with_store(work: Callable[[SqlStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(Settings.from_env().store_url)
        try:
            await store.migrate()
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


@click.group()
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

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings.from_env()
    if workers > 1:
        from relayscope import metrics

        metrics.share_between_workers(settings.data_dir)
    first_key = _with_store(_bootstrap)
    click.echo(f"RelayScope store: {settings.store_url}")
    if first_key:
        click.echo("Created org 'default' with a gateway key (shown once, keep it):")
        click.echo(f"  {first_key}")
    click.echo(f"Proxy: http://{host}:{port}/openai/v1  http://{host}:{port}/anthropic")
    uvicorn.run(
        "relayscope.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="relayscope.proxy.http_protocol:CasePreservingHttpToolsProtocol",
        log_level=log_level,
        access_log=False,
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
    _info, key = await store.create_key(org.id, name="default")
    return key


@main.command("config")
def show_config() -> None:
    """Print every setting: environment variable, current value, meaning."""
    from relayscope.config import reference

    for name, value, help_text in reference(Settings.from_env()):
        click.echo(f"{name}={value}\n    {help_text}")


@main.command()
def migrate() -> None:
    """Apply schema migrations to the configured store."""
    _with_store(lambda store: asyncio.sleep(0))
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
@click.option("--org", "org_name", required=True, help="Org name (created if new).")
@click.option("--name", default=None, help="A label for the key.")
def keys_create(org_name: str, name: str | None) -> None:
    """Create a key; it is printed once, alone on the last line."""

    async def work(store: SqlStore) -> tuple[str, str]:
        org = await store.ensure_org(org_name)
        info, key = await store.create_key(org.id, name=name)
        return info.id, key

    key_id, key = _with_store(work)
    click.echo(f"Created key {key_id} for org {org_name!r}. It is shown only now:")
    click.echo(key)


@keys.command("list")
@click.option("--org", "org_name", required=True)
def keys_list(org_name: str) -> None:
    """List an org's keys (ids and prefixes; keys themselves are never stored)."""

    async def work(store: SqlStore):
        org = await store.get_org(org_name)
        if org is None:
            raise click.ClickException(f"no org named {org_name!r}")
        return await store.list_keys(org.id)

    for info in _with_store(work):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id}  {info.prefix}…  {info.name or '-'}  {state}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    if not _with_store(lambda store: store.revoke_key(key_id)):
        raise click.ClickException(f"no active key with id {key_id!r}")
    click.echo(f"revoked {key_id}")


main.add_command(export)
