"""``relayscope export``: move request logs out of the embedded store."""

from __future__ import annotations

import asyncio

import click

from relayscope.config import Settings
from relayscope.store.export import ExportReport, export_records
from relayscope.store.logs import open_log_store
from relayscope.store.sql import open_store


@click.command("export")
@click.option(
    "--to",
    "to_url",
    required=True,
    help="Destination: postgresql://..., clickhouse://user:password@host:8123/db or chdb:///path.",
)
@click.option(
    "--from",
    "from_url",
    default=None,
    help="Source SQL store (default: the configured store, RELAYSCOPE_DATABASE_URL).",
)
@click.option("--org", "org_name", default=None, help="Only this org's records.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def export(to_url: str, from_url: str | None, org_name: str | None, batch_size: int) -> None:
    """Copy request logs to another store; safe to run again (records already there are skipped).

    Orgs and keys are not copied: for a Postgres destination that will also hold
    configuration, start from `relayscope migrate` with RELAYSCOPE_DATABASE_URL set to it
    and create keys there.
    """
    source_url = from_url or Settings.from_env().store_url
    if source_url == to_url:
        raise click.UsageError("--to names the source store itself")

    def progress(report: ExportReport) -> None:
        click.echo(f"  {report.read} read, {report.written} new", err=True)

    async def run() -> ExportReport:
        source = open_store(source_url)
        destination = open_log_store(to_url)
        try:
            await source.migrate()
            org_id = None
            if org_name is not None:
                org = await source.get_org(org_name)
                if org is None:
                    raise click.ClickException(f"no org named {org_name!r}")
                org_id = org.id
            await destination.migrate()
            return await export_records(
                source, destination, org_id=org_id, batch_size=batch_size, progress=progress
            )
        finally:
            await destination.close()
            await source.close()

    report = asyncio.run(run())
    click.echo(
        f"exported {report.read} records: {report.written} new, "
        f"{report.skipped} already in the destination"
    )
