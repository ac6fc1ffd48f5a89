"""``relayscope logs``: the log records kept as dead letters in the data directory."""

from __future__ import annotations

import click
import orjson

from relayscope.clitools import existing_org, with_store
from relayscope.config import Settings
from relayscope.logs.deadletters import DeadLetters, dead_letter_dir
from relayscope.store.sql import SqlStore


@click.group()
def logs() -> None:
    """Request logs."""


@logs.command("dead-letters")
@click.option("--org", "org_name", default=None, help="Only this org's (by name).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, None))
@click.option("--json", "as_json", is_flag=True, help="Each entry as stored: one JSON a line.")
def dead_letters(org_name: str | None, limit: int, as_json: bool) -> None:
    """List records the store refused and spool lines that were unreadable, newest first.

    They are kept, never dropped, in data_dir/dead-letters (JSON Lines, redacted as
    the spool is). Entries whose org could not be read show only without --org.
    """
    org_id = None
    if org_name is not None:

        async def find(store: SqlStore) -> str:
            return (await existing_org(store, org_name)).id

        org_id = with_store(find)
    letters = DeadLetters(dead_letter_dir(Settings.from_env().data_dir))
    entries = letters.entries(org_id, limit=limit)
    for entry in entries:
        if as_json:
            click.echo(orjson.dumps(entry).decode())
            continue
        record = entry.get("record")
        what = record.get("id") if isinstance(record, dict) else "(unreadable spool line)"
        click.echo(
            f"{entry.get('quarantined_at')}  org {entry.get('org_id') or '-'}  {what}  "
            f"{entry.get('source')}: {entry.get('reason')}"
        )
    if not entries and not as_json:
        click.echo("no dead letters")
