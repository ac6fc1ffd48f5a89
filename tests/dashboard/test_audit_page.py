"""The audit log page: a change made with a dashboard form shows there as made through
the dashboard by the signed-in key; only an admin key's session can read it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from relayscope.auth.keys import PROXY
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org


@contextmanager
def signed_in(gateway: AsgiGateway, org: OrgKey) -> Iterator[httpx.Client]:
    # The session cookie is Secure: an https base URL, as a browser would need.
    with httpx.Client(transport=gateway.transport, base_url="https://gateway") as client:
        token = csrf(client.get("/dashboard/signin").text)
        answer = client.post("/dashboard/signin", data={"csrf_token": token, "key": org.key})
        assert answer.status_code == 303, answer.text
        yield client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_dashboard_form_change_is_listed_as_made_through_the_dashboard(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        assert "No change has been made" in client.get("/dashboard/audit").text
        token = csrf(client.get("/dashboard/evaluators").text)
        made = client.post(
            "/dashboard/evaluators",
            data={
                "csrf_token": token,
                "name": "no-apology",
                "kind": "contains",
                "config": '{"text": "sorry", "expect": "no_match"}',
                "sample_rate": "0",
            },
        )
        assert made.status_code == 303, made.text
        page = client.get("/dashboard/audit")
    assert page.status_code == 200
    [row] = re.findall(r'<tr data-outcome="(\w+)">(.*?)</tr>', page.text, re.S)
    outcome, cells = row
    assert outcome == "changed"
    assert "<td>dashboard</td>" in cells and "POST /api/evaluators" in cells
    assert "no-apology" in cells  # what it sent
    assert org.key_id in cells  # who: the signed-in key (it has no name)


def test_a_proxy_key_session_is_told_the_log_needs_an_admin_key(gateway):
    org = create_org(gateway.database_url, role=PROXY)
    with signed_in(gateway, org) as client:
        page = client.get("/dashboard/audit")
    assert page.status_code == 403
    assert "needs an admin key" in page.text
    assert 'id="audit-table"' not in page.text
