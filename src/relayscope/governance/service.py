"""Keeps redaction rules fresh in memory, enforces retention, deletes a user's data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relayscope.config import setting
from relayscope.governance.redaction import RedactionRules
from relayscope.governance.repository import GovernanceRepository

log = logging.getLogger("relayscope.governance")

MAX_RETENTION_DAYS = 36_500
"""A hundred years: longer is "forever" (and beyond what date arithmetic can hold)."""

DeletionHook = Callable[[str, str], Awaitable[int]]
"""``(org_id, user_id) -> items deleted``, registered by features that hold user data;
called before the user's records are deleted."""


@dataclass(frozen=True, kw_only=True)
class GovernanceSettings:
    retention_days: int = setting(
        0,
        "Default days to keep request records for orgs without their own (0: forever; "
        "clamped to at most 36500, and a negative value means forever).",
    )
    retention_interval: float = setting(3600.0, "Seconds between retention sweeps.")
    rules_refresh_interval: float = setting(
        5.0, "Seconds between reloads of redaction rules (changes made by other processes)."
    )


def retention_period(days: int) -> timedelta | None:
    """How long records are kept, for a retention of ``days``; None: forever.

    Clamped to 1..MAX_RETENTION_DAYS, wherever the value comes from (the API refuses
    others, but a value stored before the cap existed, or the environment variable,
    may hold anything): a negative one would put the cut-off in the future and delete
    every record, a huge one would overflow the date arithmetic and stop every sweep.
    Zero or less means "keep forever" (the default's documented meaning of 0).
    """
    if days < 1:
        return None
    return timedelta(days=min(days, MAX_RETENTION_DAYS))


class Governance:
    def __init__(self, repo: GovernanceRepository, settings: GovernanceSettings) -> None:
        self.repo = repo
        self.settings = settings
        days = settings.retention_days
        if days < 0 or days > MAX_RETENTION_DAYS:
            kept = "forever" if days < 0 else f"{MAX_RETENTION_DAYS} days"
            log.warning(
                "RELAYSCOPE_GOVERNANCE_RETENTION_DAYS=%d is out of range (0 to %d): "
                "records are kept %s",
                days,
                MAX_RETENTION_DAYS,
                kept,
            )
        self.rules = RedactionRules()
        self._deletion_hooks: dict[str, DeletionHook] = {}
        self._task: asyncio.Task[None] | None = None

    def on_delete_user(self, name: str, hook: DeletionHook) -> None:
        self._deletion_hooks[name] = hook

    async def start(self) -> None:
        await self.refresh_rules()
        self._task = asyncio.create_task(self._run(), name="relayscope-governance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh_rules(self) -> None:
        self.rules.replace(await self.repo.rules())

    async def enforce_retention(self, now: datetime | None = None) -> dict[str, int]:
        """Delete records older than each org's retention; returns counts by org."""
        now = now or datetime.now(UTC)
        per_org = await self.repo.retention()
        deleted: dict[str, int] = {}
        for org_id, days in per_org.items():
            keep = retention_period(days)
            if keep is not None:
                deleted[org_id] = await self._expire(org_id, now - keep)
        default = retention_period(self.settings.retention_days)
        if default is not None:
            for org_id in await self.repo.org_ids():
                if org_id not in per_org:
                    deleted[org_id] = await self._expire(org_id, now - default)
        return {org: n for org, n in deleted.items() if n}

    async def _expire(self, org_id: str, cutoff: datetime) -> int:
        """Delete the org's records (with their scores) from before ``cutoff``, and
        scores as old whose record is not stored; returns how many records."""
        removed = await self.repo.delete_requests(org_id, before=cutoff)
        await self.repo.delete_orphan_scores(org_id, cutoff)
        return removed

    async def delete_user(self, org_id: str, user_id: str) -> dict[str, int]:
        """Delete what every hook holds about the user, then the user's records; the
        hooks run first so that they can still look the user's records up, and a hook
        that fails (raises) leaves the records for a retry."""
        report = {"requests": 0}
        for name, hook in self._deletion_hooks.items():
            report[name] = await hook(org_id, user_id)
        report["requests"] = await self.repo.delete_requests(org_id, user_id=user_id)
        return report

    async def _run(self) -> None:
        next_sweep = time.monotonic()
        while True:
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.retention_interval
                    removed = await self.enforce_retention()
                    if removed:
                        log.info("retention removed %s records", sum(removed.values()))
                await self.refresh_rules()
            except Exception:  # a failed sweep is retried; it must not end the loop
                log.exception("governance job failed")
            await asyncio.sleep(self.settings.rules_refresh_interval)
