"""A ClickHouse log store: request records in a ReplacingMergeTree ordered by (org, time, id).

Configuration (orgs, keys, ...) stays in the SQL store; only records live here.
The SQL is plain ClickHouse SQL with server-side parameters (``{name:Type}``), sent
either over ClickHouse's HTTP interface (``clickhouse://``, ``clickhouses://``) or
to the embedded engine chDB (``chdb:///path``): both run the very same text.

A record is keyed by (org, id), but ClickHouse has no unique constraint: a batch is
checked for the keys already stored before it is inserted (``settle_ids``: spool
replays and exports are skipped, another request's id is replaced), and the
ReplacingMergeTree engine folds any replay that slips through a race on its next
merge. Ids the gateway made itself are looked up within the batch's time range
(a replay has the same time); ids a client chose anywhere in the org, through a
bloom-filter index on ``id``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import orjson

from relayscope.record import LogRecord
from relayscope.store import clickhouse_scores, text_match
from relayscope.store.base import (
    Counted,
    RecordKey,
    RequestFilter,
    StoreUnavailable,
    keys_to_look_up,
    settle_ids,
)
from relayscope.store.order import MISSING, NEWEST, Page, Sort, page_of, position
from relayscope.store.record_columns import clickhouse_columns

COLUMNS = clickhouse_columns()
"""The ClickHouse type of each LogRecord field (declared in ``store.record_columns``)."""
_JSON_TEXT = ("attempts", "prompt_variables")  # JSON documents stored as text
_LIST_COLUMNS = [c for c in COLUMNS if c not in ("request_body", "response_body")]
_ID_INDEX = "ix_id id TYPE bloom_filter GRANULARITY 4"
_SKIP_INDEXES = (
    f"INDEX {_ID_INDEX}",
    "INDEX ix_user user_id TYPE bloom_filter GRANULARITY 4",
    "INDEX ix_session session_id TYPE bloom_filter GRANULARITY 4",
    "INDEX ix_model request_model TYPE bloom_filter GRANULARITY 4",
    "INDEX ix_prop_keys mapKeys(properties) TYPE bloom_filter GRANULARITY 4",
    "INDEX ix_prop_values mapValues(properties) TYPE bloom_filter GRANULARITY 4",
)
# Same output on every server version: numbers as JSON numbers, not strings.
_SETTINGS = " SETTINGS output_format_json_quote_64bit_integers = 0"
SUGGESTION_SCAN = 100_000
"""Newest records a filter field's suggestions are counted over (``common_values``)."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Executor(Protocol):
    """Runs one ClickHouse statement; returns its output (JSONEachRow for queries)."""

    async def execute(self, sql: str, params: dict[str, str] | None = None) -> bytes: ...
    async def close(self) -> None: ...


class HttpExecutor:
    """ClickHouse's HTTP interface, on the gateway's own event loop (httpx)."""

    def __init__(self, base_url: str, database: str, user: str, password: str) -> None:
        headers = {"X-ClickHouse-User": user, "X-ClickHouse-Key": password}
        self.database = database
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)

    async def execute(self, sql: str, params: dict[str, str] | None = None) -> bytes:
        query = {f"param_{k}": v for k, v in (params or {}).items()}
        query["database"] = self.database
        try:
            response = await self._client.post("/", params=query, content=sql.encode())
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"ClickHouse unreachable: {exc}") from exc
        if response.status_code != 200:
            raise StoreUnavailable(f"ClickHouse error {response.status_code}: {response.text}")
        return response.content

    async def close(self) -> None:
        await self._client.aclose()


class ChdbExecutor:
    """The embedded ClickHouse engine (chDB): one process, data in a local directory."""

    def __init__(self, path: str) -> None:
        from chdb import session

        self._session = session.Session(path)
        self._lock = asyncio.Lock()  # one statement at a time per session

    async def execute(self, sql: str, params: dict[str, str] | None = None) -> bytes:
        async with self._lock:
            try:
                result = await asyncio.to_thread(self._session.query, sql, "CSV", params=params)
            except Exception as exc:  # chdb raises its own error types
                raise StoreUnavailable(f"chDB error: {exc}") from exc
        data: bytes = result.bytes()
        return data

    async def close(self) -> None:
        self._session.close()


def executor_for(url: str) -> tuple[Executor, str]:
    """(executor, database) for a ``clickhouse://``, ``clickhouses://`` or ``chdb://`` URL."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        database = parse_qs(parts.query).get("database", ["relayscope"])[0]
        return ChdbExecutor(unquote(parts.path)), database
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise ValueError(
            f"Unsupported logs URL {url!r}: use clickhouse://user:password@host:8123/database "
            "or chdb:///path"
        )
    secure = parts.scheme == "clickhouses"
    port = parts.port or (8443 if secure else 8123)
    base = f"{'https' if secure else 'http'}://{parts.hostname}:{port}"
    database = parts.path.strip("/") or "default"
    user = unquote(parts.username or "default")
    executor = HttpExecutor(base, database, user, unquote(parts.password or ""))
    return executor, database


class ClickHouseLogStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.executor, database = executor_for(url)
        if not _IDENTIFIER.fullmatch(database):
            raise ValueError(f"Invalid ClickHouse database name {database!r}")
        self.database_name = database
        self.table = f"{database}.requests"
        self.scores_table = f"{database}.request_scores"
        """The scores of its records (``store.clickhouse_scores``)."""

    async def migrate(self) -> None:
        columns = ",\n  ".join([*(f"{n} {t}" for n, t in COLUMNS.items()), *_SKIP_INDEXES])
        await self.executor.execute(f"CREATE DATABASE IF NOT EXISTS {self.database_name}")
        await self.executor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (\n  {columns}\n)\n"
            "ENGINE = ReplacingMergeTree\n"
            "PARTITION BY toYYYYMM(created_at)\n"
            "ORDER BY (org_id, created_at, id)"
        )
        await self.executor.execute(f"ALTER TABLE {self.table} ADD INDEX IF NOT EXISTS {_ID_INDEX}")
        await self.executor.execute(clickhouse_scores.table_sql(self.scores_table))
        # A table made by an earlier version gets the columns added since, in place.
        have = {
            row["name"]
            for row in await self.query(
                "SELECT name FROM system.columns "
                "WHERE database = {db:String} AND table = 'requests'",
                {"db": self.database_name},
            )
        }
        for name, kind in COLUMNS.items():
            if name not in have:
                await self.executor.execute(
                    f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {name} {kind}"
                )

    async def close(self) -> None:
        await self.executor.close()

    async def ping(self) -> None:
        await self.executor.execute("SELECT 1")

    async def insert_requests(self, records: Sequence[LogRecord]) -> int:
        if not records:
            return 0
        new = settle_ids(records, await self._owners(records))
        if not new:
            return 0
        lines = b"\n".join(orjson.dumps(_row(r)) for r in new)
        await self.executor.execute(
            f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) FORMAT JSONEachRow\n" + lines.decode()
        )
        return len(new)

    async def _owners(self, records: Sequence[LogRecord]) -> dict[RecordKey, str | None]:
        """The stored keys among ``keys_to_look_up(records)``, with their record_uid."""
        owners: dict[RecordKey, str | None] = {}
        # Bounded by the sort key's prefix (org, time range): a replay has its time.
        params = {
            "orgs": _array({r.org_id for r in records}),
            "lo": _timestamp(min(r.created_at for r in records)),
            "hi": _timestamp(max(r.created_at for r in records)),
            "ids": _array({r.id for r in records}),
        }
        for row in await self.query(
            f"SELECT org_id, id, record_uid FROM {self.table} "
            "WHERE org_id IN {orgs:Array(String)} "
            "AND created_at BETWEEN {lo:DateTime64(6, 'UTC')} AND {hi:DateTime64(6, 'UTC')} "
            "AND id IN {ids:Array(String)}",
            params,
        ):
            owners[row["org_id"], row["id"]] = row["record_uid"]
        # A client's own id may be taken at any time (so may one from before record_uid).
        chosen = [r for r in records if r.record_uid is None or r.id != r.record_uid]
        for org_id, ids in keys_to_look_up(chosen, replacements=True).items():
            for row in await self.query(
                f"SELECT id, record_uid FROM {self.table} "
                "WHERE org_id = {org:String} AND id IN {ids:Array(String)}",
                {"org": org_id, "ids": _array(ids)},
            ):
                owners[org_id, row["id"]] = row["record_uid"]
        return owners

    async def list_requests(
        self,
        org_id: str,
        filters: RequestFilter,
        *,
        limit: int,
        cursor: str | None,
        newer: bool = False,
        sort: Sort = NEWEST,
    ) -> Page:
        where, params = conditions(filters, self.scores_table)
        where.insert(0, "org_id = {org:String}")
        params["org"] = org_id
        time = sort.by == "time"
        key = "created_at" if time else f"ifNull(toFloat64({sort.column}), {MISSING})"
        descending = sort.ascending == newer  # as in SqlStore.list_requests
        if cursor:
            value, last_id = position(sort, cursor)
            way = "<" if descending else ">"
            typed = "{c_v:DateTime64(6, 'UTC')}" if time else "{c_v:Float64}"
            where.append(f"({key} {way} {typed} OR ({key} = {typed} AND id {way} {{c_id:String}}))")
            shown = _timestamp(value) if isinstance(value, datetime) else repr(value)
            params.update(c_v=shown, c_id=last_id)
        order = "DESC" if descending else "ASC"
        rows = await self.query(
            f"SELECT {', '.join(_LIST_COLUMNS)} FROM {self.table} WHERE {' AND '.join(where)} "
            f"ORDER BY {key} {order}, id {order} LIMIT {int(limit) + 1}",
            params,
        )
        return page_of([_record(row) for row in rows], limit, cursor, newer, sort)

    async def get_request(self, org_id: str, request_id: str) -> LogRecord | None:
        rows = await self.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.table} "
            "WHERE org_id = {org:String} AND id = {id:String} LIMIT 1",
            {"org": org_id, "id": request_id},
        )
        return _record(rows[0]) if rows else None

    async def count_matching(self, org_id: str, filters: RequestFilter, *, scan: int) -> Counted:
        # A columnar count reads only the filtered columns: fast without a cap.
        where, params = conditions(filters, self.scores_table)
        where.insert(0, "org_id = {org:String}")
        params["org"] = org_id
        rows = await self.query(
            f"SELECT count() AS n FROM {self.table} WHERE {' AND '.join(where)}", params
        )
        matched = int(rows[0]["n"])
        return Counted(matched, sampled=matched, exact=True)

    async def get_requests(self, org_id: str, request_ids: Sequence[str]) -> list[LogRecord]:
        if not request_ids:
            return []
        rows = await self.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.table} "
            "WHERE org_id = {org:String} AND id IN {ids:Array(String)} LIMIT 1 BY id",
            {"org": org_id, "ids": _array(set(request_ids))},
        )
        return [_record(row) for row in rows]

    async def count_requests(self, org_id: str | None = None) -> int:
        if org_id is None:
            rows = await self.query(f"SELECT count() AS n FROM {self.table}", {})
        else:
            rows = await self.query(
                f"SELECT count() AS n FROM {self.table} WHERE org_id = {{org:String}}",
                {"org": org_id},
            )
        return int(rows[0]["n"])

    async def save_scores(
        self, org_id: str, request_id: str, scores: Mapping[str, float | bool], at: datetime
    ) -> None:
        """Keep ``scores`` (saved in the SQL store at ``at``) beside the records."""
        rows = clickhouse_scores.rows(org_id, request_id, scores, _timestamp(at))
        await self.executor.execute(
            f"INSERT INTO {self.scores_table} (org_id, request_id, name, value, boolean, "
            "updated_at) FORMAT JSONEachRow\n" + rows
        )

    async def score_totals(
        self,
        org_id: str,
        f: RequestFilter,
        name: str,
        *,
        granularity: str | None = None,
        group_by: str | None = None,
    ) -> dict[clickhouse_scores.ScoreKey, tuple[int, float]]:
        """(records holding score ``name``, the sum of their values) per (bucket, group)
        among the org's records ``f`` selects."""
        where, params = conditions(f, self.scores_table)
        params.update(org=org_id, score=name)
        sql = clickhouse_scores.totals_sql(
            self.table, self.scores_table, where, params, granularity=granularity, group_by=group_by
        )
        found: dict[clickhouse_scores.ScoreKey, tuple[int, float]] = {}
        for row in await self.query(sql, params):
            bucket = clickhouse_scores.bucket(row["k0"]) if granularity else None
            group = row["k1" if granularity else "k0"] if group_by else None
            found[bucket, group] = (int(row["scored"]), float(row["total"] or 0.0))
        return found

    async def score_names(self, org_id: str, f: RequestFilter) -> list[dict[str, Any]]:
        """Every score name on the org's records ``f`` selects: ``requests`` holding it,
        its ``average``, and whether it is ``boolean``."""
        where, params = conditions(f, self.scores_table)
        params["org"] = org_id
        rows = await self.query(
            clickhouse_scores.names_sql(self.table, self.scores_table, where), params
        )
        return [
            {
                "name": row["name"],
                "requests": int(row["scored"]),
                "average": float(row["average"]),
                "boolean": bool(row["boolean"]),
            }
            for row in rows
        ]

    async def common_values(
        self, org_id: str, field: str, *, typed: str, since: datetime, limit: int, name: str = ""
    ) -> list[tuple[str, int]]:
        """The org's ``limit`` most used values of ``field`` ("user", "model",
        "property", or "property_value" of property ``name``) containing ``typed`` (any
        case), with how many records have each, among its newest ``SUGGESTION_SCAN``
        records since ``since``: the read stops there however large the org's log."""
        shown = {
            "user": "assumeNotNull(user_id)",
            "model": "coalesce(request_model, response_model, '')",
            "property": "arrayJoin(mapKeys(properties))",
            "property_value": "properties[{name:String}]",
        }[field]
        params = {
            "org": org_id,
            "since": _timestamp(since),
            "typed": typed,
            "name": name,
        }
        where = ["org_id = {org:String}", "created_at >= {since:DateTime64(6, 'UTC')}"]
        if field == "user":
            where.append("user_id IS NOT NULL")
        elif field == "property_value":
            where.append("mapContains(properties, {name:String})")
        newest = (
            f"SELECT {shown} AS raw FROM {self.table} WHERE {' AND '.join(where)} "
            f"ORDER BY created_at DESC LIMIT {SUGGESTION_SCAN}"
        )
        rows = await self.query(
            f"SELECT substringUTF8(raw, 1, 256) AS shown, count() AS used FROM ({newest}) "
            "WHERE shown != '' AND positionCaseInsensitiveUTF8(shown, {typed:String}) > 0 "
            f"GROUP BY shown ORDER BY used DESC, shown LIMIT {int(limit)}",
            params,
        )
        return [(row["shown"], int(row["used"])) for row in rows]

    async def query(self, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
        raw = await self.executor.execute(sql + _SETTINGS + " FORMAT JSONEachRow", params)
        return [orjson.loads(line) for line in raw.splitlines() if line.strip()]


def conditions(f: RequestFilter, scores_table: str) -> tuple[list[str], dict[str, str]]:
    """WHERE clauses (and their parameters) selecting what ``f`` selects among the
    records of the org bound as ``{org:String}``."""
    where: list[str] = []
    params: dict[str, str] = {}
    for n, score in enumerate(f.scores):
        clause, named = clickhouse_scores.condition(scores_table, score, n)
        where.append(clause)
        params.update(named)
    for column, kind, value in (
        ("user_id", "String", f.user_id),
        ("session_id", "String", f.session_id),
        ("provider", "String", f.provider),
        ("request_name", "String", f.request_name),
        ("prompt_id", "String", f.prompt_id),
        ("prompt_version", "Int32", f.prompt_version),
    ):
        if value is not None:
            where.append(f"{column} = {{{column}:{kind}}}")
            params[column] = str(value)
    if f.model is not None:
        where.append("(request_model = {model:String} OR response_model = {model:String})")
        params["model"] = f.model
    if f.status == "success":
        where.append("status < 400 AND error IS NULL")
    elif f.status == "error":
        where.append("(status >= 400 OR error IS NOT NULL)")
    elif f.status is not None:
        where.append("status = {status:UInt16}")
        params["status"] = str(f.status)
    for n, (name, value) in enumerate(f.properties):
        where.append(f"properties[{{pk{n}:String}}] = {{pv{n}:String}}")
        params[f"pk{n}"], params[f"pv{n}"] = name, value
    if f.since is not None:
        where.append("created_at >= {since:DateTime64(6, 'UTC')}")
        params["since"] = _timestamp(f.since)
    if f.until is not None:
        where.append("created_at < {until:DateTime64(6, 'UTC')}")
        params["until"] = _timestamp(f.until)
    for n, match in enumerate(f.matches):
        condition, named = text_match.clickhouse_condition(match, n)
        where.append(condition)
        params.update(named)
    return where, params


def _row(record: LogRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in COLUMNS}
    row["created_at"] = _timestamp(record.created_at)
    for name in _JSON_TEXT:
        if row[name] is not None:
            row[name] = orjson.dumps(row[name]).decode()
    return row


def _record(row: dict[str, Any]) -> LogRecord:
    row["created_at"] = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
    for name in _JSON_TEXT:
        if row.get(name) is not None:
            row[name] = orjson.loads(row[name])
    return LogRecord(**row)


def _timestamp(value: datetime) -> str:
    """The text ClickHouse parses as DateTime64(6, 'UTC') on every version."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _array(values: set[str]) -> str:
    """An Array(String) parameter in ClickHouse's text format."""
    quoted = ("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in sorted(values))
    return "[" + ",".join(quoted) + "]"
