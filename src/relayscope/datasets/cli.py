"""``relayscope datasets``: list an org's datasets, export one as JSON Lines, import a
JSONL file as a new dataset or into one. Works on the store directly, like the other
data commands; a running gateway sees the changes at once."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from relayscope.clitools import existing_org, org_option, with_store
from relayscope.datasets import jsonl
from relayscope.datasets.repository import DatasetRepository
from relayscope.errors import GatewayError
from relayscope.store.sql import SqlStore

T = TypeVar("T")


def _run(org_name: str, work: Callable[[DatasetRepository, str], Awaitable[T]]) -> T:
    async def run(store: SqlStore) -> T:
        org = await existing_org(store, org_name)
        return await work(DatasetRepository(store.database), org.id)

    try:
        return with_store(run)
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None


@click.group()
def datasets() -> None:
    """Datasets of request/response pairs (see docs/datasets-experiments.md)."""


@datasets.command("list")
@org_option()
def list_datasets(org_name: str) -> None:
    """One line per dataset: id, rows, name."""

    async def work(repo: DatasetRepository, org_id: str) -> None:
        for dataset in await repo.all(org_id):
            click.echo(f"{dataset.id}  {dataset.row_count:>6} rows  {dataset.name}")

    _run(org_name, work)


@datasets.command("export")
@click.argument("dataset_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: standard output).",
)
@org_option()
def export_dataset(dataset_id: str, output: Path | None, org_name: str) -> None:
    """Write a dataset's rows as JSON Lines."""

    async def work(repo: DatasetRepository, org_id: str) -> bytes:
        dataset = await repo.require(org_id, dataset_id)
        return jsonl.export(await repo.rows(org_id, dataset.id))

    data = _run(org_name, work)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        rows = data.count(b"\n")
        click.echo(f"wrote {rows} rows to {output}", err=True)


@datasets.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Create a new dataset with this name.")
@click.option("--into", "into", help="Append to this dataset (its id) instead.")
@org_option()
def import_dataset(file: Path, name: str | None, into: str | None, org_name: str) -> None:
    """Read JSON Lines rows (all or none; a bad line is named) into a dataset."""
    if (name is None) == (into is None):
        raise click.UsageError("give either --name (a new dataset) or --into DATASET_ID")
    try:
        rows = jsonl.parse(file.read_bytes())
    except GatewayError as exc:
        raise click.ClickException(f"{file}: {exc.message}") from None

    async def work(repo: DatasetRepository, org_id: str) -> str:
        if into is not None:
            await repo.add_rows(org_id, into, rows)
            return into
        assert name is not None
        return (await repo.create(org_id, name, None, rows)).id

    dataset_id = _run(org_name, work)
    click.echo(dataset_id)
    click.echo(f"imported {len(rows)} rows", err=True)
