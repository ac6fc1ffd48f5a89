"""Datasets end to end: requests proxied with the real openai SDK become rows, built
from an explorer filter or from ids; rows are edited, exported as JSONL and imported
back. In-process, on SQLite and Postgres."""

from __future__ import annotations

import orjson

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.lab import lab


async def test_a_dataset_from_a_filter_holds_the_matching_pairs_oldest_first(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        first = await a.ask("What is 2+2?", **{"Helicone-Property-Topic": "math"})
        await a.ask("Tell me a joke", **{"Helicone-Property-Topic": "fun"})
        second = await a.ask("What is 3+3?", **{"Helicone-Property-Topic": "math"})
        await a.admin.post(f"/api/requests/{second}/score", json={"scores": {"ok": True}})

        made = await a.admin.post(
            "/api/datasets",
            json={"name": "math", "filter": {"property.topic": "math"}, "limit": 10},
        )
        assert made.status_code == 201, made.text
        dataset = made.json()["data"]
        assert dataset["row_count"] == 2 and dataset["skipped"] == []
        rows = (await a.reader.get(f"/api/datasets/{dataset['id']}/rows")).json()["data"]
        assert [r["request_id"] for r in rows] == [first, second]
        assert rows[0]["messages"] == [{"role": "user", "content": "What is 2+2?"}]
        assert rows[0]["output"] == "Echo: What is 2+2?"
        assert rows[0]["model"] == "gpt-4o-mini" and rows[0]["expected"] is None

        # The explorer's score filter works the same here.
        scored = await a.admin.post(
            "/api/datasets", json={"name": "scored", "filter": {"score.ok": "true"}}
        )
        scored_rows = await a.reader.get(f"/api/datasets/{scored.json()['data']['id']}/rows")
        assert [r["request_id"] for r in scored_rows.json()["data"]] == [second]


async def test_rows_are_edited_and_survive_a_jsonl_round_trip(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        ids = [await a.ask(f"question {n}") for n in range(3)]
        made = await a.admin.post("/api/datasets", json={"name": "picked", "request_ids": ids[:2]})
        dataset_id = made.json()["data"]["id"]
        rows = (await a.reader.get(f"/api/datasets/{dataset_id}/rows")).json()["data"]
        edited = await a.admin.patch(
            f"/api/datasets/{dataset_id}/rows/{rows[0]['id']}", json={"expected": "four"}
        )
        assert edited.status_code == 200 and edited.json()["data"]["expected"] == "four"
        added = await a.admin.post(
            f"/api/datasets/{dataset_id}/rows",
            json={"messages": [{"role": "user", "content": "hand written"}], "expected": "x"},
        )
        assert added.status_code == 201
        await a.admin.delete(f"/api/datasets/{dataset_id}/rows/{rows[1]['id']}")

        exported = await a.reader.get(f"/api/datasets/{dataset_id}/export")
        assert exported.headers["content-type"].startswith("application/jsonl")
        lines = [orjson.loads(line) for line in exported.content.splitlines()]
        assert [line["expected"] for line in lines] == ["four", "x"]

        copy = (await a.admin.post("/api/datasets", json={"name": "copy"})).json()["data"]
        imported = await a.admin.post(
            f"/api/datasets/{copy['id']}/import", content=exported.content
        )
        assert imported.json()["data"] == {"imported": 2, "row_count": 2}
        again = await a.reader.get(f"/api/datasets/{copy['id']}/export")
        assert again.content == exported.content


async def test_bad_input_is_a_4xx_naming_what_is_wrong_and_other_orgs_see_nothing(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        made = await a.admin.post("/api/datasets", json={"name": "d"})
        dataset_id = made.json()["data"]["id"]
        bad_line = b'{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": "no"}\n'
        refused = await a.admin.post(f"/api/datasets/{dataset_id}/import", content=bad_line)
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "line 2"
        assert refused.json()["error"]["message"].startswith("line 2: ")
        not_json = await a.admin.post(f"/api/datasets/{dataset_id}/import", content=b"{oops\n")
        assert not_json.status_code == 400 and "line 1" in not_json.json()["error"]["message"]
        # All or nothing: the good first line was not kept.
        assert (await a.reader.get(f"/api/datasets/{dataset_id}")).json()["data"]["row_count"] == 0

        for body, param in [
            ({}, "name"),
            ({"name": "x", "filter": {"nope": "1"}}, "filter.nope"),
            ({"name": "x", "filter": {"status": "teapot"}}, "status"),
            ({"name": "x", "request_ids": []}, "request_ids"),
            ({"name": "x", "colour": 1}, "colour"),
        ]:
            answer = await a.admin.post("/api/datasets", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["error"]["param"] == param
        unknown = await a.admin.post("/api/datasets", json={"name": "x", "request_ids": ["nope"]})
        assert unknown.status_code == 404
        # A proxy key reads but does not change.
        assert (await a.reader.post("/api/datasets", json={"name": "x"})).status_code == 403

        other = await a.gw.gateway.store.ensure_org("other")
        _info, key = await a.gw.gateway.store.create_key(other.id, role="admin")
        headers = {"Authorization": f"Bearer {key}"}
        theirs = await a.admin.get(f"/api/datasets/{dataset_id}", headers=headers)
        assert theirs.status_code == 404
        listed = await a.admin.get("/api/datasets", headers=headers)
        assert listed.json()["data"] == []
