"""``relayscope keys set|credential|rotate|show``: a key's scopes, credentials and secret.

They join ``relayscope keys`` (create, list, revoke, role). Every gateway sharing the
store applies a change within a second, as for a revocation.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
import orjson

from relayscope.clitools import existing_org, org_option
from relayscope.config import Settings
from relayscope.errors import GatewayError
from relayscope.retry.api import PROVIDER_NAMES, check_key
from relayscope.retry.crypto import SecretBox
from relayscope.store.sql import open_store
from relayscope.virtualkeys.api import key_json
from relayscope.virtualkeys.repository import VirtualKeyInfo, VirtualKeys
from relayscope.virtualkeys.spec import MAX_GRACE_SECONDS, parse_grace, parse_update

T = TypeVar("T")


def _run(org_name: str, work: Callable[[VirtualKeys, str], Awaitable[T]]) -> T:
    settings = Settings.from_env()

    async def run() -> T:
        store = open_store(settings.store_url)
        try:
            await store.migrate()
            org = await existing_org(store, org_name)
            keys = VirtualKeys(store, SecretBox(settings.secret_key, settings.data_dir))
            return await work(keys, org.id)
        finally:
            await store.close()

    return asyncio.run(run())


def _checked(make: Callable[[], T]) -> T:
    try:
        return make()
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None


def _found(info: T | None, key_id: str) -> T:
    if info is None:
        raise click.ClickException(f"no active key with id {key_id!r} in this org")
    return info


def _show(info: VirtualKeyInfo) -> None:
    click.echo(orjson.dumps(key_json(info), option=orjson.OPT_INDENT_2).decode())


_org = org_option()
_key_id = click.argument("key_id")


@click.command("set")
@_org
@_key_id
@click.option("--provider", "providers", multiple=True, help="Allowed provider (glob); repeat.")
@click.option("--model", "models", multiple=True, help="Allowed model (glob); repeat.")
@click.option("--max-tokens", type=int, default=None, help="Most tokens a request may ask for.")
@click.option("--ip", "networks", multiple=True, help="Allowed client address or CIDR; repeat.")
@click.option("--no-scopes", is_flag=True, help="Remove every scope.")
@click.option("--expires", default=None, help="ISO 8601 time with a zone, or 'never'.")
@click.option("--metadata", default=None, help="A JSON object replacing the key's metadata.")
@click.option("--name", default=None, help="A new label for the key.")
def set_settings(
    org_name: str,
    key_id: str,
    providers: tuple[str, ...],
    models: tuple[str, ...],
    max_tokens: int | None,
    networks: tuple[str, ...],
    no_scopes: bool,
    expires: str | None,
    metadata: str | None,
    name: str | None,
) -> None:
    """Change a key's scopes, expiry, metadata or name. Scope options, when any is
    given, replace all of the key's scopes; other settings are kept unless named."""
    changes: dict[str, Any] = {}
    if providers or models or max_tokens is not None or networks or no_scopes:
        changes["scopes"] = {
            "providers": list(providers),
            "models": list(models),
            "max_tokens": max_tokens,
            "ip_allowlist": list(networks),
        }
    if expires is not None:
        changes["expires_at"] = None if expires == "never" else expires
    if metadata is not None:
        try:
            changes["metadata"] = orjson.loads(metadata)
        except orjson.JSONDecodeError:
            raise click.ClickException("--metadata must be a JSON object") from None
    if name is not None:
        changes["name"] = name
    if not changes:
        raise click.UsageError("nothing to change: give a scope, --expires, --metadata or --name")
    parsed = _checked(lambda: parse_update(changes))
    info = _run(org_name, lambda keys, org_id: keys.update(org_id, key_id, parsed))
    _show(_found(info, key_id))


@click.command("credential")
@_org
@_key_id
@click.option(
    "--provider", required=True, type=click.Choice(sorted(PROVIDER_NAMES)), help="Provider."
)
@click.option("--delete", is_flag=True, help="Remove the key's credential for the provider.")
def set_credential(org_name: str, key_id: str, provider: str, delete: bool) -> None:
    """Store the provider key a gateway key sends to that provider, read from standard
    input (or prompted for, hidden); with --delete, remove it."""
    secret: str | None = None
    if not delete:
        if sys.stdin.isatty():
            raw = click.prompt(f"{provider} API key", hide_input=True)
        else:
            raw = sys.stdin.readline()
        secret = _checked(lambda: check_key(raw))
    parsed = _checked(lambda: parse_update({"credentials": {provider: secret}}))
    info = _found(_run(org_name, lambda keys, org_id: keys.update(org_id, key_id, parsed)), key_id)
    if delete:
        click.echo(f"key {key_id} holds no {provider} credential now")
    else:
        last4 = next(c.last4 for c in info.credentials if c.provider == provider)
        click.echo(f"key {key_id} now sends the {provider} key ending in {last4}")


@click.command("rotate")
@_org
@_key_id
@click.option(
    "--grace",
    type=click.IntRange(0, MAX_GRACE_SECONDS),
    default=None,
    help="Seconds the current secret keeps working (default 3600).",
)
def rotate(org_name: str, key_id: str, grace: int | None) -> None:
    """Give a key a new secret, printed once, alone on the last line."""
    seconds = parse_grace(grace)
    rotated = _found(
        _run(
            org_name, lambda keys, org_id: keys.rotate(org_id, key_id, timedelta(seconds=seconds))
        ),
        key_id,
    )
    info, secret = rotated
    until = info.previous_valid_until
    old = f"until {until:%Y-%m-%d %H:%M:%S} UTC" if until is not None else "no longer"
    click.echo(f"Rotated key {key_id}; the previous secret works {old}. The new one:")
    click.echo(secret)


@click.command("show")
@_org
@_key_id
def show(org_name: str, key_id: str) -> None:
    """A key's settings as JSON (never its secret or credentials)."""
    _show(_found(_run(org_name, lambda keys, org_id: keys.get(org_id, key_id)), key_id))


commands = (set_settings, set_credential, rotate, show)
