"""Prompt look-ups for the hot path, cached in memory, and writes that keep the cache true.

Two caches:

- versions, by (org, prompt, number): immutable, so kept until evicted (LRU);
- heads (latest number, its template hash, the labels) by (org, prompt): these
  change, so they live ``ttl`` seconds. Writes made through this catalog (the API,
  inline registration) drop the head at once; writes made by another process (the
  CLI, another worker or replica) are seen once the head expires.

Concurrent misses for the same key share one database read (and concurrent inline
registrations of one template share one write).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any, TypeVar

from relayscope.prompts.errors import PromptNotFound, PromptVersionNotFound
from relayscope.prompts.model import Head, PromptVersion
from relayscope.prompts.repository import Existence, PromptRepository, Unchanged
from relayscope.prompts.spec import VersionSpec
from relayscope.prompts.template import Template

T = TypeVar("T")
Key = tuple[str, str]
INLINE_NOTE = "registered from an inline template"


class PromptCatalog:
    def __init__(
        self, repository: PromptRepository, *, ttl: float = 5.0, max_entries: int = 10_000
    ) -> None:
        self.repository = repository
        self._ttl = ttl
        self._max = max_entries
        self._heads: dict[Key, tuple[float, Head | None]] = {}
        self._loading: dict[Key, object] = {}
        self._versions: OrderedDict[tuple[str, str, int], PromptVersion] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}

    async def resolve(
        self,
        org_id: str,
        prompt_id: str,
        selector: int | str | None,
        *,
        id_param: str | None = None,
        version_param: str | None = None,
    ) -> PromptVersion:
        """The version a request asks for: a number, a label, or (None) the default:
        the ``production`` label if set, else the latest version."""
        head = await self.head(org_id, prompt_id)
        if head is None:
            raise PromptNotFound(prompt_id, param=id_param)
        if selector is None:
            number: int | None = head.default_version()
        elif isinstance(selector, int):
            number = selector if 1 <= selector <= head.latest else None
        else:
            number = head.labels.get(selector)
        version = await self.version(org_id, prompt_id, number) if number is not None else None
        if version is None:
            raise PromptVersionNotFound(
                prompt_id,
                head.default_version() if selector is None else selector,
                param=version_param,
            )
        return version

    async def head(self, org_id: str, prompt_id: str) -> Head | None:
        key = (org_id, prompt_id)
        cached = self._heads.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return await self._single(("head", key), partial(self._load_head, key))

    async def version(self, org_id: str, prompt_id: str, number: int) -> PromptVersion | None:
        key = (org_id, prompt_id, number)
        found = self._versions.get(key)
        if found is not None:
            self._versions.move_to_end(key)
            return found
        found = await self._single(
            ("version", key), partial(self.repository.get_version, org_id, prompt_id, number)
        )
        if found is not None:
            self._remember(org_id, found)
        return found

    async def register_inline(
        self, org_id: str, prompt_id: str, template: Template, *, created_by: str | None
    ) -> int:
        """The version number of an inline template, registering it as a new version
        when the prompt is new or its latest version holds a different template."""
        digest = template.digest
        head = await self.head(org_id, prompt_id)
        if head is not None and head.latest_template_hash == digest:
            return head.latest
        labels = dict(head.labels) if head is not None else {}
        return await self._single(
            ("inline", org_id, prompt_id, digest),
            partial(self._register, org_id, prompt_id, template, created_by, labels),
        )

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
        try:
            return await self.repository.add_version(
                org_id,
                prompt_id,
                spec,
                created_by=created_by,
                existence=existence,
                unchanged=unchanged,
            )
        finally:
            self.invalidate(org_id, prompt_id)

    async def set_label(
        self, org_id: str, prompt_id: str, label: str, version: int, *, updated_by: str | None
    ) -> None:
        try:
            await self.repository.set_label(
                org_id, prompt_id, label, version, updated_by=updated_by
            )
        finally:
            self.invalidate(org_id, prompt_id)

    def invalidate(self, org_id: str, prompt_id: str) -> None:
        """Forget what this process knows about a prompt's head (versions stay: immutable)."""
        key = (org_id, prompt_id)
        self._heads.pop(key, None)
        self._loading.pop(key, None)
        self._inflight.pop(("head", key), None)

    async def _load_head(self, key: Key) -> Head | None:
        token = object()
        self._loading[key] = token
        head = await self.repository.head(*key)
        # An invalidation while the read was in flight means the answer may be stale.
        if self._loading.get(key) is token:
            del self._loading[key]
            self._store_head(key, head)
        return head

    async def _register(
        self,
        org_id: str,
        prompt_id: str,
        template: Template,
        created_by: str | None,
        labels: dict[str, int],
    ) -> int:
        version, _created = await self.repository.add_version(
            org_id,
            prompt_id,
            VersionSpec(template, note=INLINE_NOTE),
            created_by=created_by,
            unchanged="template",
        )
        self.invalidate(org_id, prompt_id)
        self._store_head((org_id, prompt_id), Head(version.version, template.digest, labels))
        self._remember(org_id, version)
        return version.version

    def _store_head(self, key: Key, head: Head | None) -> None:
        if len(self._heads) >= self._max:
            self._heads.clear()
        self._heads[key] = (time.monotonic() + self._ttl, head)

    def _remember(self, org_id: str, version: PromptVersion) -> None:
        self._versions[(org_id, version.prompt_id, version.version)] = version
        while len(self._versions) > self._max:
            self._versions.popitem(last=False)

    async def _single(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self._inflight[key] = future
            future.add_done_callback(partial(self._settled, key))
        # Shielded: a client that hangs up must not cancel a read others are waiting on.
        return await asyncio.shield(future)

    def _settled(self, key: Hashable, future: asyncio.Future[Any]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
        if not future.cancelled():
            future.exception()  # retrieved: a failure seen by no waiter is not "lost"
