"""Features reach the store through its typed capabilities, never its SQLAlchemy engine.

Only ``relayscope.store`` builds and holds the engine; every other module gets the
configuration store's ``database`` (``relayscope.store.database.Database``), which
opens connections and transactions and names the dialect. import-linter sees modules,
not attributes, so this check reads the source itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.store.database import Database
from relayscope.store.schema import orgs
from relayscope.store.sql import SqlStore

PACKAGE = Path(__file__).parents[1] / "src" / "relayscope"
STORE = PACKAGE / "store"
ENGINE_NAMES = {"AsyncEngine", "create_async_engine", "create_engine"}


def engine_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each ``.engine`` attribute and each engine type or factory imported."""
    uses = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "engine":
            uses.append((node.lineno, f"{ast.unparse(node)}"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            uses.extend(
                (node.lineno, alias.name) for alias in node.names if alias.name in ENGINE_NAMES
            )
    return uses


def test_no_module_outside_the_store_touches_the_engine() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if STORE not in path.parents
        for line, what in engine_uses(path.read_text())
    ]
    assert found == [], "use the store's `database` instead:\n" + "\n".join(found)


def test_the_check_sees_a_reach_through() -> None:
    source = "from sqlalchemy.ext.asyncio import AsyncEngine\nrepo = Repo(services.store.engine)\n"
    assert engine_uses(source) == [(1, "AsyncEngine"), (2, "services.store.engine")]
    assert engine_uses("async with store.database.begin() as conn: pass\n") == []


async def test_the_configuration_store_lends_its_database_and_a_log_store_has_none(
    tmp_path: Path,
) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/relayscope.db", pool_size=1)
    logs = ClickHouseLogStore("clickhouse://user:secret@127.0.0.1:8123/relayscope")
    try:
        await store.migrate()
        await store.ensure_org("acme")
        assert isinstance(store.database, Database) and store.database.dialect == "sqlite"
        async with store.database.connect() as conn:
            assert (await conn.execute(select(orgs.c.name))).scalars().all() == ["acme"]
        assert not hasattr(store.database, "engine")
        # A log store offers no SQL database to features (mypy rejects ``logs.database``).
        assert not hasattr(logs, "database")
    finally:
        await logs.close()
        await store.close()
