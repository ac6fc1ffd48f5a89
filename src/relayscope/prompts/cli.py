"""``relayscope prompts``: push, list, show, label and diff an org's prompts.

The CLI writes to the store directly; running gateways see its changes once their
prompt cache expires (``RELAYSCOPE_PROMPTS_CACHE_TTL``).
"""

from __future__ import annotations

import asyncio
import difflib
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from relayscope.clitools import org_option
from relayscope.config import Settings
from relayscope.errors import GatewayError
from relayscope.prompts.model import PromptVersion
from relayscope.prompts.repository import PromptRepository
from relayscope.prompts.spec import (
    MAX_VERSION,
    SpecError,
    check_label,
    check_prompt_id,
    check_selector,
    parse_prompt,
)
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")
Work = Callable[[PromptRepository, str], Awaitable[T]]


def _run(org_name: str, work: Work[T]) -> T:
    async def run() -> T:
        store: SqlStore = open_store(Settings.from_env().store_url)
        try:
            await store.migrate()
            org = await store.get_org(org_name)
            if org is None:
                raise click.ClickException(f"no org named {org_name!r}")
            return await work(PromptRepository(store.database), org.id)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None


def _author() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _selector(value: str) -> int | str:
    try:
        return check_selector(value, "VERSION")
    except SpecError as exc:
        raise click.BadParameter(exc.problem, param_hint="VERSION") from None


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@click.group()
def prompts() -> None:
    """Versioned prompt templates (Helicone-Prompt-Id)."""


@prompts.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@org_option()
@click.option("--label", "labels", multiple=True, help="Point this label at the version.")
@click.option("--note", default=None, help="Note for the version (overrides the file's).")
def push(file: Path, org_name: str, labels: tuple[str, ...], note: str | None) -> None:
    """Add FILE (YAML or JSON) as a new version, unless the latest version is the same."""
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not valid YAML or JSON: {exc}") from None
    if isinstance(doc, dict) and note is not None:
        doc = {**doc, "note": note}
    try:
        spec = parse_prompt(doc)
        all_labels = (*spec.labels, *(check_label(x, "--label") for x in labels))
    except SpecError as exc:
        raise click.ClickException(f"{file}: field '{exc.field}': {exc.problem}") from None

    async def work(repo: PromptRepository, org_id: str) -> tuple[PromptVersion, bool]:
        version, created = await repo.add_version(
            org_id, spec.id, spec.version, created_by=_author(), unchanged="content"
        )
        for label in all_labels:
            await repo.set_label(org_id, spec.id, label, version.version, updated_by=_author())
        return version, created

    version, created = _run(org_name, work)
    state = "created" if created else "unchanged, same as the latest"
    click.echo(f"{spec.id} version {version.version} ({state})")
    for label in all_labels:
        click.echo(f"{spec.id} label {label} -> version {version.version}")


@prompts.command("list")
@org_option()
def list_(org_name: str) -> None:
    """List the org's prompts with their latest version and labels."""
    found = _run(org_name, lambda repo, org_id: repo.list_prompts(org_id))
    if not found:
        click.echo("no prompts")
    for summary in found:
        labels = " ".join(f"{k}={v}" for k, v in sorted(summary.labels.items())) or "-"
        click.echo(f"{summary.id}  latest={summary.latest_version}  {labels}")


@prompts.command("show")
@click.argument("prompt_id")
@org_option()
@click.option(
    "--version", "version", default=None, help="Number or label (default: production, else latest)."
)
def show(prompt_id: str, org_name: str, version: str | None) -> None:
    """Print a version as JSON."""
    selector = _selector(version) if version is not None else None

    async def work(repo: PromptRepository, org_id: str) -> dict[str, Any]:
        summary, found = await repo.resolve(org_id, prompt_id, selector)
        return found.to_json(summary.labels_of(found.version))

    click.echo(_dump(_run(org_name, work)))


@prompts.command("label")
@click.argument("prompt_id")
@click.argument("version", type=click.IntRange(min=1, max=MAX_VERSION))
@click.argument("label")
@org_option()
def label(prompt_id: str, version: int, label: str, org_name: str) -> None:
    """Point LABEL at VERSION (moving it if it pointed elsewhere)."""
    try:
        check_prompt_id(prompt_id, "PROMPT_ID")
        check_label(label, "LABEL")
    except SpecError as exc:
        raise click.BadParameter(exc.problem, param_hint=exc.field) from None
    _run(
        org_name,
        lambda repo, org_id: repo.set_label(
            org_id, prompt_id, label, version, updated_by=_author()
        ),
    )
    click.echo(f"{prompt_id} label {label} -> version {version}")


@prompts.command("diff")
@click.argument("prompt_id")
@click.argument("v1")
@click.argument("v2")
@org_option()
def diff(prompt_id: str, v1: str, v2: str, org_name: str) -> None:
    """Unified diff of two versions' JSON (numbers or labels)."""
    first, second = _selector(v1), _selector(v2)

    async def work(repo: PromptRepository, org_id: str) -> tuple[PromptVersion, PromptVersion]:
        _, a = await repo.resolve(org_id, prompt_id, first)
        _, b = await repo.resolve(org_id, prompt_id, second)
        return a, b

    a, b = _run(org_name, work)
    lines = difflib.unified_diff(
        _dump(a.content_json()).splitlines(keepends=True),
        _dump(b.content_json()).splitlines(keepends=True),
        fromfile=f"{prompt_id} version {a.version}",
        tofile=f"{prompt_id} version {b.version}",
    )
    click.echo("".join(lines), nl=False)
