"""A lease in the shared store so that one replica evaluates each alert tick.

One row per lease name holds the holder, its expiry and the last tick claimed.
Claiming is a single conditional UPDATE, atomic on SQLite (one writer at a time)
and on Postgres (the second writer waits for the row lock, then re-checks the
condition against the committed row and matches nothing):

    UPDATE leases SET holder=me, expires_at=now+ttl, tick=T
    WHERE name=N AND tick < T AND (holder = me OR expires_at <= now)

so a tick is evaluated at most once, the holder keeps the lease while it renews
it, and another replica takes over once it lapses. Replicas' clocks must agree
(NTP), as for any lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from relayscope.store.database import Database
from relayscope.store.schema import leases

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, database: Database, name: str, *, ttl: float, holder: str | None = None):
        self.database = database
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        self.holder = holder or new_holder()
        self._created = False

    async def claim(self, tick: int, now: datetime) -> bool:
        """True when this holder now owns ``tick`` (and the lease until ``now + ttl``)."""
        if not self._created:
            await self._create_row()
        c = leases.c
        statement = (
            update(leases)
            .where(
                c.name == self.name,
                c.tick < tick,
                (c.holder == self.holder) | (c.expires_at <= now),
            )
            .values(holder=self.holder, expires_at=now + self.ttl, tick=tick)
        )
        async with self.database.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount == 1

    async def release(self) -> None:
        """Let another replica take over at its next tick."""
        async with self.database.begin() as conn:
            await conn.execute(
                update(leases)
                .where(leases.c.name == self.name, leases.c.holder == self.holder)
                .values(expires_at=_EPOCH)
            )

    async def _create_row(self) -> None:
        dialect = postgresql if self.database.dialect == "postgresql" else sqlite
        statement = (
            dialect.insert(leases)
            .values(name=self.name, holder="", expires_at=_EPOCH, tick=-1)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        async with self.database.begin() as conn:
            await conn.execute(statement)
        self._created = True
