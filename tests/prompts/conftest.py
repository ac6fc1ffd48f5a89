"""Stores for the prompt tests: an embedded SQLite one and a throwaway Postgres database,
each made and migrated once per module; tests keep apart by using fresh orgs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from relayscope.store.sql import SqlStore

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    store = SqlStore(url)
    try:
        await store.migrate()
    finally:
        await store.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('prompts')}/prompts.db"
        asyncio.run(_migrate(url))
        yield url
        return
    name = f"relayscope_prompts_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no Postgres at 127.0.0.1:5432 ({exc})")
    try:
        asyncio.run(_migrate(f"{POSTGRES}/{name}"))
        yield f"{POSTGRES}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    sql_store = SqlStore(database_url)
    try:
        yield sql_store
    finally:
        await sql_store.close()


@pytest.fixture
def new_org(store: SqlStore) -> Callable[[], Awaitable[str]]:
    """Makes a fresh org and returns its id."""

    async def make() -> str:
        return (await store.ensure_org(f"org-{uuid.uuid4().hex[:10]}")).id

    return make


@pytest.fixture
async def org_id(new_org: Callable[[], Awaitable[str]]) -> str:
    return await new_org()


@pytest.fixture
def api(gateway, org) -> Iterator[httpx.Client]:
    """The gateway's JSON API, authenticated as the test's org."""
    with gateway.api(org) as client:
        yield client


@pytest.fixture
def create_prompt(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    """``create_prompt(id, messages, **fields)``: POST /api/prompts, asserting 201."""

    def create(prompt_id: str, messages: list[Any], **fields: Any) -> dict[str, Any]:
        response = api.post("/api/prompts", json={"id": prompt_id, "messages": messages, **fields})
        assert response.status_code == 201, response.text
        return response.json()["data"]

    return create


@pytest.fixture
def add_version(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def add(prompt_id: str, messages: list[Any], **fields: Any) -> dict[str, Any]:
        response = api.post(
            f"/api/prompts/{prompt_id}/versions", json={"messages": messages, **fields}
        )
        assert response.status_code == 201, response.text
        return response.json()["data"]

    return add


def prompt_headers(prompt_id: str, variables: Any = None, version: Any = None) -> dict[str, str]:
    """Helicone prompt headers; variables are sent as ASCII JSON, as json.dumps writes it."""
    headers = {"Helicone-Prompt-Id": prompt_id}
    if variables is not None:
        headers["Helicone-Prompt-Variables"] = json.dumps(variables)
    if version is not None:
        headers["Helicone-Prompt-Version"] = str(version)
    return headers


@pytest.fixture
def headers() -> Callable[..., dict[str, str]]:
    return prompt_headers
