"""The hot path's prompt look-ups: what is cached, what invalidates it, what is shared."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.errors import PromptNotFound, PromptVersionNotFound
from relayscope.prompts.repository import PromptRepository
from relayscope.prompts.spec import VersionSpec
from relayscope.prompts.template import Template
from relayscope.store.sql import SqlStore
from relayscope.testing.waiting import async_wait_until


def spec(text: str) -> VersionSpec:
    return VersionSpec(Template([{"role": "user", "content": text}]))


class Queries:
    """Counts the SQL statements that touch prompt tables (observed, not intercepted)."""

    def __init__(self, store: SqlStore) -> None:
        self.statements: list[str] = []
        self._engine = store.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args) -> None:
        if "prompt" in statement:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


@pytest.fixture
def queries(store: SqlStore) -> Iterator[Queries]:
    counter = Queries(store)
    yield counter
    counter.close()


async def test_resolution_by_default_label_and_number(store, org_id):
    catalog = PromptCatalog(PromptRepository(store.database), ttl=60)
    for text in ("one", "two", "three"):
        await catalog.add_version(org_id, "p", spec(text), created_by=None)
    assert (await catalog.resolve(org_id, "p", None)).version == 3, "latest without production"
    await catalog.set_label(org_id, "p", "production", 2, updated_by=None)
    await catalog.set_label(org_id, "p", "canary", 1, updated_by=None)
    assert (await catalog.resolve(org_id, "p", None)).version == 2, "production when set"
    assert (await catalog.resolve(org_id, "p", "canary")).version == 1
    assert (await catalog.resolve(org_id, "p", 3)).template.messages[0]["content"] == "three"
    for selector in (0, 4, "staging"):
        with pytest.raises(PromptVersionNotFound) as caught:
            await catalog.resolve(org_id, "p", selector, version_param="H-V")
        assert caught.value.param == "H-V" and repr(selector) in caught.value.message
    with pytest.raises(PromptNotFound) as missing:
        await catalog.resolve(org_id, "absent", None, id_param="H-I")
    assert "'absent'" in missing.value.message and missing.value.param == "H-I"


async def test_warm_look_ups_do_not_touch_the_database(store, org_id, queries):
    catalog = PromptCatalog(PromptRepository(store.database), ttl=60)
    await catalog.add_version(org_id, "p", spec("x"), created_by=None)
    await catalog.resolve(org_id, "p", None)
    before = queries.count
    for _ in range(50):
        await catalog.resolve(org_id, "p", None)
        await catalog.resolve(org_id, "p", 1)
    assert queries.count == before


async def test_concurrent_misses_share_one_read(store, org_id, queries):
    await PromptRepository(store.database).add_version(org_id, "p", spec("x"), created_by=None)
    catalog = PromptCatalog(PromptRepository(store.database), ttl=60)
    before = queries.count
    results = await asyncio.gather(*(catalog.resolve(org_id, "p", None) for _ in range(20)))
    assert {r.version for r in results} == {1}
    # One head read (latest + labels: two statements) and one version read.
    assert queries.count - before == 3


async def test_own_writes_apply_at_once_other_processes_within_the_ttl(store, org_id):
    catalog = PromptCatalog(PromptRepository(store.database), ttl=60)
    short = PromptCatalog(PromptRepository(store.database), ttl=0.3)
    await catalog.add_version(org_id, "p", spec("v1"), created_by=None)
    assert (await catalog.resolve(org_id, "p", None)).version == 1
    await catalog.add_version(org_id, "p", spec("v2"), created_by=None)
    assert (await catalog.resolve(org_id, "p", None)).version == 2
    assert (await short.resolve(org_id, "p", None)).version == 2

    # Another process (the CLI) writes through its own engine.
    other = SqlStore(store.url)
    try:
        await PromptRepository(other.database).set_label(
            org_id, "p", "production", 1, updated_by=None
        )
    finally:
        await other.close()
    assert (await catalog.resolve(org_id, "p", None)).version == 2, "cached for its TTL"

    async def refreshed() -> bool:
        return (await short.resolve(org_id, "p", None)).version == 1

    await async_wait_until(refreshed, timeout=5)


async def test_inline_templates_register_once_and_follow_the_latest(store, org_id, queries):
    catalog = PromptCatalog(PromptRepository(store.database), ttl=60)
    first = Template([{"role": "user", "content": "{{q}}"}])
    second = Template([{"role": "user", "content": "Answer: {{q}}"}])

    numbers = await asyncio.gather(
        *(catalog.register_inline(org_id, "code", first, created_by="k") for _ in range(10))
    )
    assert set(numbers) == {1}
    before = queries.count
    assert await catalog.register_inline(org_id, "code", first, created_by="k") == 1
    assert queries.count == before, "an identical template is answered from memory"

    assert await catalog.register_inline(org_id, "code", second, created_by="k") == 2
    assert await catalog.register_inline(org_id, "code", second, created_by="k") == 2
    # Back to the first template: it differs from the latest, so it is a new version.
    assert await catalog.register_inline(org_id, "code", first, created_by="k") == 3
    versions = await catalog.repository.list_versions(org_id, "code")
    assert [v.version for v in versions] == [3, 2, 1]
    assert versions[0].template.digest == first.digest
    assert versions[0].created_by == "k"


async def test_an_inline_template_equal_to_a_stored_latest_reuses_it(store, org_id):
    catalog = PromptCatalog(PromptRepository(store.database), ttl=60)
    template = Template([{"role": "user", "content": "{{q}}"}])
    await catalog.add_version(org_id, "p", VersionSpec(template, "m"), created_by=None)
    assert await catalog.register_inline(org_id, "p", template, created_by=None) == 1
