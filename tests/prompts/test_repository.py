"""Prompt persistence on SQLite and Postgres: numbering, immutability, labels, isolation."""

from __future__ import annotations

import asyncio

import pytest

from relayscope.prompts.errors import PromptExists, PromptNotFound, PromptVersionNotFound
from relayscope.prompts.repository import PromptRepository
from relayscope.prompts.spec import VersionSpec
from relayscope.prompts.template import Template


def spec(text: str, model: str | None = None, **parameters) -> VersionSpec:
    system = [{"type": "text", "text": "sys {{who}}"}]
    return VersionSpec(
        Template([{"role": "user", "content": text}], system), model, parameters, note=text
    )


async def test_versions_are_numbered_stored_and_listed(store, org_id):
    repo = PromptRepository(store.database)
    first, created = await repo.add_version(org_id, "greet", spec("hi {{name}}"), created_by="me")
    assert (first.version, created) == (1, True)
    second, _ = await repo.add_version(
        org_id, "greet", spec("hello {{name}}", "gpt-4o", temperature=0.5), created_by="you"
    )
    assert second.version == 2

    loaded = await repo.get_version(org_id, "greet", 2)
    assert loaded is not None
    assert loaded.template.messages == [{"role": "user", "content": "hello {{name}}"}]
    assert loaded.template.system == [{"type": "text", "text": "sys {{who}}"}]
    assert loaded.template.variables == ("who", "name")
    assert (loaded.model, dict(loaded.parameters)) == ("gpt-4o", {"temperature": 0.5})
    assert (loaded.note, loaded.created_by) == ("hello {{name}}", "you")
    assert loaded.created_at.tzinfo is not None
    assert [v.version for v in await repo.list_versions(org_id, "greet")] == [2, 1]
    assert await repo.get_version(org_id, "greet", 3) is None

    [summary] = await repo.list_prompts(org_id)
    assert (summary.id, summary.latest_version, summary.labels) == ("greet", 2, {})


async def test_unchanged_content_reuses_the_latest_version(store, org_id):
    repo = PromptRepository(store.database)
    await repo.add_version(org_id, "p", spec("a {{x}}"), created_by=None)
    same, created = await repo.add_version(
        org_id, "p", spec("a {{x}}"), created_by=None, unchanged="template"
    )
    assert (same.version, created) == (1, False)
    # Same template, other model: "template" reuses it, "content" does not.
    reused, created = await repo.add_version(
        org_id, "p", spec("a {{x}}", "m"), created_by=None, unchanged="template"
    )
    assert (reused.version, created) == (1, False)
    new, created = await repo.add_version(
        org_id, "p", spec("a {{x}}", "m"), created_by=None, unchanged="content"
    )
    assert (new.version, created) == (2, True)


async def test_existence_rules(store, org_id):
    repo = PromptRepository(store.database)
    with pytest.raises(PromptNotFound):
        await repo.add_version(org_id, "p", spec("x"), created_by=None, existence="existing")
    await repo.add_version(org_id, "p", spec("x"), created_by=None, existence="new")
    with pytest.raises(PromptExists):
        await repo.add_version(org_id, "p", spec("y"), created_by=None, existence="new")
    version, _ = await repo.add_version(
        org_id, "p", spec("y"), created_by=None, existence="existing"
    )
    assert version.version == 2


async def test_labels_point_at_one_version_and_move(store, org_id):
    repo = PromptRepository(store.database)
    for text in ("a", "b", "c"):
        await repo.add_version(org_id, "p", spec(text), created_by=None)
    await repo.set_label(org_id, "p", "production", 1, updated_by="me")
    await repo.set_label(org_id, "p", "staging", 3, updated_by="me")
    head = await repo.head(org_id, "p")
    assert head is not None
    assert (head.latest, head.default_version()) == (3, 1)
    await repo.set_label(org_id, "p", "production", 2, updated_by="me")
    summary = await repo.get_prompt(org_id, "p")
    assert summary is not None and summary.labels == {"production": 2, "staging": 3}
    with pytest.raises(PromptVersionNotFound):
        await repo.set_label(org_id, "p", "production", 4, updated_by="me")
    with pytest.raises(PromptNotFound):
        await repo.set_label(org_id, "nope", "production", 1, updated_by="me")


async def test_prompts_are_per_org(store, org_id, new_org):
    repo = PromptRepository(store.database)
    other = await new_org()
    await repo.add_version(org_id, "shared-name", spec("mine"), created_by=None)
    await repo.add_version(org_id, "shared-name", spec("mine again"), created_by=None)
    theirs, _ = await repo.add_version(other, "shared-name", spec("theirs"), created_by=None)
    assert theirs.version == 1
    assert await repo.get_version(other, "shared-name", 2) is None
    assert [p.latest_version for p in await repo.list_prompts(other)] == [1]
    with pytest.raises(PromptVersionNotFound):
        await repo.set_label(other, "shared-name", "production", 2, updated_by=None)


async def test_concurrent_writers_get_distinct_numbers(store, org_id):
    repo = PromptRepository(store.database)
    results = await asyncio.gather(
        *(repo.add_version(org_id, "race", spec(f"t{i}"), created_by=None) for i in range(6))
    )
    assert sorted(v.version for v, _ in results) == [1, 2, 3, 4, 5, 6]
    notes = {v.note for v in await repo.list_versions(org_id, "race")}
    assert notes == {f"t{i}" for i in range(6)}
