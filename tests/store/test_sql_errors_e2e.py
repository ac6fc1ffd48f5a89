"""Store errors never copy request data into the gateway's log (found by bench/soak.py).

SQLAlchemy puts the failed statement's parameters in its error messages; for a log
batch those are whole records, prompts and completions included, and the writer
logged them on every outage.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.waiting import wait_until

pytestmark = pytest.mark.e2e


def stored_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM requests")}


def test_a_store_outage_logs_the_reason_but_no_record_content(tmp_path, fake_server):
    # The default write timeout (5 s) outlasts SQLite's busy timeout (2 s): the write
    # fails with the driver's "database is locked", not with a timeout.
    env = fake_provider_env(fake_server.url)
    marker = f"private-{uuid.uuid4().hex}"
    with GatewayProcess(tmp_path, env) as gateway:
        org = create_org(gateway.database_url)
        db = Path(gateway.database_url.removeprefix("sqlite:///"))
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": marker}]}
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            with httpx.Client(base_url=gateway.url, headers=org.auth, timeout=10) as client:
                ids = []
                for _ in range(5):
                    response = client.post("/openai/v1/chat/completions", json=chat)
                    assert response.status_code == 200
                    assert marker in response.text, "the fake provider echoes the prompt"
                    ids.append(response.headers["helicone-id"])
            wait_until(lambda: list((tmp_path / "spool").glob("*.jsonl")), timeout=15)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        wait_until(lambda: set(ids) <= stored_ids(db), timeout=15)
        log = gateway.log()
    assert "log store unavailable (OperationalError: database is locked)" in log
    assert marker not in log
    assert "INSERT INTO" not in log
