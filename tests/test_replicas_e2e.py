"""Two replicas sharing Postgres and Redis behave as one gateway."""

from __future__ import annotations

import subprocess
import sys

import anthropic
import httpx
import openai

from relayscope.testing.orgs import create_org
from relayscope.testing.process import clean_env
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def cli(store_url: str, *args: str) -> str:
    env = {"RELAYSCOPE_DATABASE_URL": store_url, **clean_env()}
    done = subprocess.run(
        [sys.executable, "-m", "relayscope", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def status(url: str, key: str) -> int:
    headers = {"Helicone-Auth": f"Bearer {key}"}
    return httpx.post(f"{url}/openai/v1/chat/completions", headers=headers, json=CHAT).status_code


def test_a_key_created_once_works_on_every_replica_and_revocation_reaches_all(replicas):
    group = replicas(env={"RELAYSCOPE_KEY_CACHE_TTL": "0.2"})
    created = cli(group.store_url, "keys", "create", "--org", "acme").strip().splitlines()
    key, key_id = created[-1], created[0].split(" key ")[1].split()[0]
    assert [status(url, key) for url in group.urls] == [200, 200]

    cli(group.store_url, "keys", "revoke", key_id)
    wait_until(lambda: [status(url, key) for url in group.urls] == [401, 401], timeout=5)


def test_logs_from_every_replica_appear_in_one_explorer(replicas, fake):
    group = replicas()
    org = create_org(group.store_url)
    sent = {}
    for n, replica in enumerate(group):
        with openai.OpenAI(
            base_url=f"{replica.url}/openai/v1", api_key="sk-test", default_headers=org.auth
        ) as sdk:
            raw = sdk.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"to replica {n}"}]
            )
            sent[raw.headers["helicone-id"]] = "openai"
        with anthropic.Anthropic(
            base_url=f"{replica.url}/anthropic", api_key="sk-ant", default_headers=org.auth
        ) as sdk:
            raw = sdk.messages.with_raw_response.create(
                model="claude-3-5-haiku-latest",
                max_tokens=32,
                messages=[{"role": "user", "content": f"to replica {n}"}],
            )
            sent[raw.headers["helicone-id"]] = "anthropic"

    for replica in group:  # each replica's API shows what every replica logged
        with httpx.Client(base_url=replica.url, headers=org.bearer, timeout=10) as api:

            def listed(api=api):
                data = api.get("/api/requests").json()["data"]
                return {r["id"]: r["provider"] for r in data} if len(data) == 4 else None

            assert wait_until(listed, timeout=10) == sent
