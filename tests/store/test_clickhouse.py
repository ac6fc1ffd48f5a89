"""The ClickHouse log store end to end: a gateway logging over ClickHouse's HTTP protocol.

No ClickHouse server can be installed here (docs/scaling.md says why), so the
server is ``relayscope.testing.clickhouse_http``: the HTTP interface in front of
the embedded ClickHouse engine, chDB. The store's SQL runs in real ClickHouse code.
"""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest

from relayscope.store.clickhouse import HttpExecutor, executor_for
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.clickhouse_http import ClickHouseHttp
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.stores import stored_ids
from relayscope.testing.waiting import wait_until


@pytest.fixture
def clickhouse(tmp_path):
    with ClickHouseHttp(tmp_path / "clickhouse", user="relay", password="s3cret") as server:
        yield server


def rows(server: ClickHouseHttp, sql: str) -> list[dict]:
    return [orjson.loads(line) for line in server.query(sql).splitlines()]


def test_a_gateway_logs_to_clickhouse_and_the_explorer_reads_from_it(
    tmp_path, fake_server, clickhouse
):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_LOGS_URL": clickhouse.url()}
    with AsgiGateway(tmp_path / "gw", env) as gateway:
        org = gateway.new_org()
        with openai.OpenAI(
            base_url=f"{gateway.url}/openai/v1",
            api_key="sk-test",
            default_headers=org.auth,
            http_client=gateway.sdk_http(),
        ) as sdk:
            raw = sdk.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "to clickhouse"}],
                extra_headers={"Helicone-User-Id": "ada", "Helicone-Property-Team": "core"},
            )
        with (
            anthropic.Anthropic(
                base_url=f"{gateway.url}/anthropic",
                api_key="sk-ant",
                default_headers=org.auth,
                http_client=gateway.sdk_http(),
            ) as sdk,
            sdk.messages.stream(
                model="claude-3-5-haiku-latest",
                max_tokens=32,
                messages=[{"role": "user", "content": "stream it"}],
            ) as stream,
        ):
            streamed = stream.get_final_message()
        openai_id = raw.headers["helicone-id"]

        with gateway.api(org) as api:

            def listed():
                data = api.get("/api/requests").json()["data"]
                return data if len(data) == 2 else None

            data = wait_until(listed, timeout=10)
            assert [r["provider"] for r in data] == ["anthropic", "openai"]
            chosen = api.get("/api/requests", params={"property.team": "core", "user_id": "ada"})
            assert [r["id"] for r in chosen.json()["data"]] == [openai_id]
            record = api.get(f"/api/requests/{openai_id}").json()["data"]
            assert record["request_body"]["messages"][0]["content"] == "to clickhouse"
            assert record["properties"] == {"team": "core"} and record["prompt_tokens"] > 0
            claude = data[0]
            assert claude["stream"] is True
            assert claude["completion_tokens"] == streamed.usage.output_tokens

        # The records are in ClickHouse, not in the configuration store.
        assert not stored_ids(gateway.database_url, org.org_id)
        in_clickhouse = rows(
            clickhouse, f"SELECT id FROM relayscope.requests WHERE org_id = '{org.org_id}'"
        )
        assert {r["id"] for r in in_clickhouse} == {openai_id, data[0]["id"]}
    table = rows(
        clickhouse,
        "SELECT engine, sorting_key, partition_key FROM system.tables "
        "WHERE database = 'relayscope' AND name = 'requests'",
    )
    assert table == [
        {
            "engine": "ReplacingMergeTree",
            "sorting_key": "org_id, created_at, id",
            "partition_key": "toYYYYMM(created_at)",
        }
    ]
    inserts = [s for s in clickhouse.statements if s.startswith("INSERT")]
    assert inserts and all("FORMAT JSONEachRow" in s for s in inserts)


@pytest.mark.e2e
def test_wrong_clickhouse_credentials_stop_the_gateway_at_start(tmp_path, fake_server, clickhouse):
    wrong = clickhouse.url().replace(":s3cret@", ":wrong@")
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_LOGS_URL": wrong}
    gateway = GatewayProcess(tmp_path, env)
    with pytest.raises(RuntimeError, match="Authentication failed"):
        gateway.start()


def test_clickhouse_urls():
    executor, database = executor_for("clickhouse://ana:p%40ss@ch.internal/analytics")
    assert isinstance(executor, HttpExecutor) and database == "analytics"
    assert str(executor._client.base_url) == "http://ch.internal:8123"
    assert executor._client.headers["X-ClickHouse-Key"] == "p@ss"
    secure, _ = executor_for("clickhouses://ch.example.com/logs")
    assert str(secure._client.base_url) == "https://ch.example.com:8443"
    with pytest.raises(ValueError, match="Unsupported logs URL"):
        executor_for("mysql://x/y")
