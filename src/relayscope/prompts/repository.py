"""Prompt persistence in the store's SQL database (SQLite and Postgres).

Versions are immutable: rows are inserted, never updated. A new version's number is
the latest plus one, taken inside the inserting transaction, with the prompt's row
locked on Postgres; writers that still collide (creating the same new prompt, or on
SQLite) hit the primary key and the loser retries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from relayscope.prompts.errors import PromptExists, PromptNotFound, PromptVersionNotFound
from relayscope.prompts.model import PRODUCTION, Head, PromptSummary, PromptVersion
from relayscope.prompts.spec import VersionSpec
from relayscope.prompts.template import Template
from relayscope.store.database import Database
from relayscope.store.schema import prompt_labels, prompt_versions, prompts

Existence = Literal["new", "existing", "any"]
"""The prompt must not exist yet, must exist already, or is created when missing."""
Unchanged = Literal["template", "content"] | None
"""Reuse the latest version instead of adding one when its template (or its template,
model and parameters) equal the new one's."""

_ATTEMPTS = 10


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class PromptRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add_version(
        self,
        org_id: str,
        prompt_id: str,
        spec: VersionSpec,
        *,
        created_by: str | None,
        existence: Existence = "any",
        unchanged: Unchanged = None,
    ) -> tuple[PromptVersion, bool]:
        """The new version (or the reused latest one) and whether it was created."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self.database.begin() as conn:
                    return await self._add_version(
                        conn, org_id, prompt_id, spec, created_by, existence, unchanged
                    )
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _add_version(
        self,
        conn: AsyncConnection,
        org_id: str,
        prompt_id: str,
        spec: VersionSpec,
        created_by: str | None,
        existence: Existence,
        unchanged: Unchanged,
    ) -> tuple[PromptVersion, bool]:
        exists = await self._exists(conn, org_id, prompt_id, lock=True)
        if exists and existence == "new":
            raise PromptExists(prompt_id)
        if not exists and existence == "existing":
            raise PromptNotFound(prompt_id, param="id")
        if not exists:
            await conn.execute(
                prompts.insert().values(org_id=org_id, id=prompt_id, created_at=_now())
            )
        latest = (
            await conn.execute(
                _versions_of(org_id, prompt_id).order_by(prompt_versions.c.version.desc()).limit(1)
            )
        ).first()
        if latest is not None and unchanged is not None:
            current = _version(latest)
            same = current.template.digest == spec.template.digest
            if unchanged == "content":
                same = same and (current.model, current.parameters) == (spec.model, spec.parameters)
            if same:
                return current, False
        number = latest.version + 1 if latest is not None else 1
        row = {
            "org_id": org_id,
            "prompt_id": prompt_id,
            "version": number,
            "messages": spec.template.messages,
            "system": spec.template.system,
            "model": spec.model,
            "parameters": spec.parameters,
            "template_hash": spec.template.digest,
            "note": spec.note,
            "created_by": created_by,
            "created_at": _now(),
        }
        await conn.execute(prompt_versions.insert().values(**row))
        return _version(row), True

    async def set_label(
        self, org_id: str, prompt_id: str, label: str, version: int, *, updated_by: str | None
    ) -> None:
        for attempt in range(_ATTEMPTS):
            try:
                async with self.database.begin() as conn:
                    await self._set_label(conn, org_id, prompt_id, label, version, updated_by)
                return
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise

    async def _set_label(
        self,
        conn: AsyncConnection,
        org_id: str,
        prompt_id: str,
        label: str,
        version: int,
        updated_by: str | None,
    ) -> None:
        if not await self._exists(conn, org_id, prompt_id):
            raise PromptNotFound(prompt_id, param="id")
        found = (
            await conn.execute(
                select(prompt_versions.c.version).where(
                    *_version_key(org_id, prompt_id), prompt_versions.c.version == version
                )
            )
        ).first()
        if found is None:
            raise PromptVersionNotFound(prompt_id, version, param="version")
        key = and_(
            prompt_labels.c.org_id == org_id,
            prompt_labels.c.prompt_id == prompt_id,
            prompt_labels.c.label == label,
        )
        values = {"version": version, "updated_by": updated_by, "updated_at": _now()}
        result = await conn.execute(update(prompt_labels).where(key).values(**values))
        if result.rowcount == 0:
            await conn.execute(
                prompt_labels.insert().values(
                    org_id=org_id, prompt_id=prompt_id, label=label, **values
                )
            )

    async def head(self, org_id: str, prompt_id: str) -> Head | None:
        async with self.database.connect() as conn:
            latest = (
                await conn.execute(
                    select(prompt_versions.c.version, prompt_versions.c.template_hash)
                    .where(*_version_key(org_id, prompt_id))
                    .order_by(prompt_versions.c.version.desc())
                    .limit(1)
                )
            ).first()
            if latest is None:
                return None
            labels = await self._labels(conn, org_id, prompt_id)
        return Head(latest.version, latest.template_hash, labels)

    async def get_version(self, org_id: str, prompt_id: str, version: int) -> PromptVersion | None:
        query = _versions_of(org_id, prompt_id).where(prompt_versions.c.version == version)
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        return _version(row) if row is not None else None

    async def list_versions(self, org_id: str, prompt_id: str) -> list[PromptVersion]:
        query = _versions_of(org_id, prompt_id).order_by(prompt_versions.c.version.desc())
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_version(row) for row in rows]

    async def resolve(
        self,
        org_id: str,
        prompt_id: str,
        selector: int | str | None,
        *,
        id_param: str | None = None,
        version_param: str | None = None,
    ) -> tuple[PromptSummary, PromptVersion]:
        """A prompt and the version ``selector`` names, read fresh (for the API and CLI)."""
        summary = await self.get_prompt(org_id, prompt_id)
        if summary is None:
            raise PromptNotFound(prompt_id, param=id_param)
        if selector is None:
            number: int | None = summary.labels.get(PRODUCTION, summary.latest_version)
        elif isinstance(selector, int):
            number = selector
        else:
            number = summary.labels.get(selector)
        version = await self.get_version(org_id, prompt_id, number) if number is not None else None
        if version is None:
            missing = selector if selector is not None else summary.latest_version
            raise PromptVersionNotFound(prompt_id, missing, param=version_param)
        return summary, version

    async def get_prompt(self, org_id: str, prompt_id: str) -> PromptSummary | None:
        found = await self._summaries(org_id, prompt_id)
        return found[0] if found else None

    async def list_prompts(self, org_id: str) -> list[PromptSummary]:
        return await self._summaries(org_id, None)

    async def _summaries(self, org_id: str, prompt_id: str | None) -> list[PromptSummary]:
        latest = func.max(prompt_versions.c.version).label("latest")
        query = (
            select(prompts.c.id, prompts.c.created_at, latest)
            .join(
                prompt_versions,
                and_(
                    prompt_versions.c.org_id == prompts.c.org_id,
                    prompt_versions.c.prompt_id == prompts.c.id,
                ),
            )
            .where(prompts.c.org_id == org_id)
            .group_by(prompts.c.id, prompts.c.created_at)
            .order_by(prompts.c.id)
        )
        labels_query = select(prompt_labels).where(prompt_labels.c.org_id == org_id)
        if prompt_id is not None:
            query = query.where(prompts.c.id == prompt_id)
            labels_query = labels_query.where(prompt_labels.c.prompt_id == prompt_id)
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).all()
            label_rows = (await conn.execute(labels_query)).all()
        labels: dict[str, dict[str, int]] = {}
        for row in label_rows:
            labels.setdefault(row.prompt_id, {})[row.label] = row.version
        return [
            PromptSummary(row.id, _utc(row.created_at), row.latest, labels.get(row.id, {}))
            for row in rows
        ]

    async def _exists(
        self, conn: AsyncConnection, org_id: str, prompt_id: str, *, lock: bool = False
    ) -> bool:
        query = select(prompts.c.id).where(prompts.c.org_id == org_id, prompts.c.id == prompt_id)
        if lock:
            # Postgres: writers of one prompt queue on its row instead of colliding on the
            # next number. SQLite ignores it; its writers are serialised by the file lock.
            query = query.with_for_update()
        return (await conn.execute(query)).first() is not None

    async def _labels(self, conn: AsyncConnection, org_id: str, prompt_id: str) -> dict[str, int]:
        query = select(prompt_labels.c.label, prompt_labels.c.version).where(
            prompt_labels.c.org_id == org_id, prompt_labels.c.prompt_id == prompt_id
        )
        return {row.label: row.version for row in (await conn.execute(query)).all()}


def _version_key(org_id: str, prompt_id: str) -> tuple[Any, Any]:
    return prompt_versions.c.org_id == org_id, prompt_versions.c.prompt_id == prompt_id


def _versions_of(org_id: str, prompt_id: str) -> Any:
    return select(prompt_versions).where(*_version_key(org_id, prompt_id))


def _version(row: Any) -> PromptVersion:
    if hasattr(row, "_mapping"):
        row = row._mapping
    return PromptVersion(
        prompt_id=row["prompt_id"],
        version=row["version"],
        template=Template(row["messages"], row["system"]),
        model=row["model"],
        parameters=row["parameters"] or {},
        note=row["note"],
        created_by=row["created_by"],
        created_at=_utc(row["created_at"]),
    )
