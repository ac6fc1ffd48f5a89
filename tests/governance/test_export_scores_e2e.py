"""A data export carries each record's scores and feedback, as JSON Lines and as CSV,
from the API (``/api/data/export``) and the CLI (``relayscope data export``)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import clean_env, fake_provider_env

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Rate me"}]}


@pytest.fixture(scope="module")
def gw(tmp_path_factory, fake_server, store_urls) -> Iterator[AsgiGateway]:
    url = store_urls.new(tmp_path_factory.mktemp("export-store"))
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": url}
    try:
        with AsgiGateway(tmp_path_factory.mktemp("export"), env) as gateway:
            yield gateway
    finally:
        store_urls.discard(url)


@pytest.fixture
def scored(gw: AsgiGateway, fake) -> tuple[OrgKey, str, str]:
    """A new org with two records: the first scored and rated, the second neither."""
    org = gw.new_org()
    with gw.http(org.auth) as proxy:
        ids = [
            proxy.post("/openai/v1/chat/completions", json=CHAT).headers["helicone-id"]
            for _ in range(2)
        ]
    for request_id in ids:
        gw.record(org, request_id)
    with gw.api(org) as api:
        score = api.post(
            f"/v1/request/{ids[0]}/score", json={"scores": {"accuracy": 0.75, "on_topic": True}}
        )
        feedback = api.post(f"/v1/request/{ids[0]}/feedback", json={"rating": False})
    assert score.status_code == feedback.status_code == 200
    return org, ids[0], ids[1]


def test_json_lines_hold_each_records_scores_and_feedback(gw: AsgiGateway, scored):
    org, rated, plain = scored
    with gw.api(org) as api:
        response = api.get("/api/data/export")
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = {line["id"]: line for line in map(orjson.loads, response.text.splitlines())}
    assert lines[rated]["scores"] == {"accuracy": 0.75, "on_topic": True}
    assert lines[rated]["feedback"]["rating"] is False
    assert (lines[plain]["scores"], lines[plain]["feedback"]) == ({}, None)
    assert lines[rated]["request_body"] == CHAT


def read_csv(text: str) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text))}


def test_csv_has_a_header_and_a_scores_and_feedback_column(gw: AsgiGateway, scored):
    org, rated, plain = scored
    with gw.api(org) as api:
        response = api.get("/api/data/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[0] == "id" and header[-2:] == ["scores", "feedback"]
    rows = read_csv(response.text)
    assert orjson.loads(rows[rated]["scores"]) == {"accuracy": 0.75, "on_topic": True}
    assert rows[rated]["feedback"] == "false"
    assert (rows[plain]["scores"], rows[plain]["feedback"]) == ("{}", "")
    assert rows[rated]["request_model"] == "gpt-4o-mini"
    assert orjson.loads(rows[rated]["request_body"]) == CHAT
    assert rows[rated]["stream"] == "false"


def test_an_empty_csv_export_is_its_header(gw: AsgiGateway):
    org = gw.new_org()
    with gw.api(org) as api:
        text = api.get("/api/data/export", params={"format": "csv"}).text
    assert text.splitlines()[0].startswith("id,org_id,")
    assert len(text.splitlines()) == 1


def test_an_unknown_format_is_a_400(gw: AsgiGateway):
    org = gw.new_org()
    with gw.api(org) as api:
        response = api.get("/api/data/export", params={"format": "xlsx"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "format"


@pytest.mark.e2e
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_cli_exports_scores_too(gw: AsgiGateway, scored, tmp_path, fmt: str):
    org, rated, plain = scored
    env = {
        **clean_env(),
        "RELAYSCOPE_DATA_DIR": str(tmp_path),
        "RELAYSCOPE_DATABASE_URL": gw.database_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "relayscope", "data", "export", "--org", org.name, "--format", fmt],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "exported 2 records" in done.stderr
    if fmt == "csv":
        rows = read_csv(done.stdout)
        assert orjson.loads(rows[rated]["scores"])["accuracy"] == 0.75
        assert (rows[rated]["feedback"], rows[plain]["feedback"]) == ("false", "")
    else:
        lines = {line["id"]: line for line in map(orjson.loads, done.stdout.splitlines())}
        assert lines[rated]["scores"]["on_topic"] is True
        assert lines[plain]["scores"] == {}
