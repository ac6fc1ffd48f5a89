"""``/api/alerts``: rule and channel validation (400 naming the field), masking of
secrets, test notifications, and a rule firing inside a real gateway process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from relayscope.alerts.outbound import SIGNATURE_HEADER, verify
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.receiver import SmtpReceiver, WebhookReceiver
from relayscope.testing.waiting import wait_until

SECRET = "whsec-api-test-0123456789"
SLACK_TOKEN = "xoxb-slack-token-abcdef"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def alerts_gateway(e2e_process, tmp_path_factory, fake_server, smtp) -> Iterator[GatewayProcess]:
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RELAYSCOPE_ALERTS_INTERVAL": "0.3",
        "RELAYSCOPE_ALERTS_DELIVERY_BACKOFF": "0.05",
        "RELAYSCOPE_ALERTS_DELIVERY_ATTEMPTS": "3",
        "RELAYSCOPE_ALERTS_SMTP_HOST": "127.0.0.1",
        "RELAYSCOPE_ALERTS_SMTP_PORT": str(smtp.port),
        "RELAYSCOPE_ALERTS_SMTP_STARTTLS": "false",
        "RELAYSCOPE_ALERTS_SMTP_FROM": "alerts@relayscope.test",
    }
    # Two worker processes, each with its evaluator: the store lease lets one evaluate a tick.
    with GatewayProcess(tmp_path_factory.mktemp("alerts-gateway"), env, workers=2) as process:
        yield process


@pytest.fixture
def team(alerts_gateway) -> OrgKey:
    return create_org(alerts_gateway.database_url)


def api(gateway: AsgiGateway | GatewayProcess, org: OrgKey) -> httpx.Client:
    if isinstance(gateway, AsgiGateway):
        return gateway.api(org)
    return httpx.Client(base_url=gateway.url, headers=org.bearer, timeout=10)


def rule(**overrides) -> dict:
    return {"name": "r", "metric": "error_rate", "threshold": 5, "window": "5m", **overrides}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metric": "cost_usd", "threshold": 1, "window": "1h"}, "name"),
        (rule(metric="latency"), "metric"),
        (rule(comparison="=>"), "comparison"),
        (rule(threshold="high"), "threshold"),
        (rule(threshold=None), "threshold"),
        (rule(window="5 minutes"), "window"),
        ({"name": "r", "metric": "cost_usd", "threshold": 1}, "window"),
        (rule(window="400d"), "window"),
        (rule(min_requests=0), "min_requests"),
        (rule(metric="cost_usd", min_requests=10), "min_requests"),
        (rule(metric="cost_usd", mode="relative"), "mode"),
        (rule(mode="percent"), "mode"),
        (rule(cooldown="soon"), "cooldown"),
        (rule(filters={"modle": "gpt-4o"}), "filters.modle"),
        (rule(filters={"model": ""}), "filters.model"),
        (rule(filters={"properties": {"tier": 1}}), "filters.properties.tier"),
        (rule(channels="ops"), "channels"),
        (rule(channels=["no-such-channel"]), "channels[0]"),
        (rule(enabled="yes"), "enabled"),
        (rule(threshhold=5), "threshhold"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(gateway, org, body, field):
    with gateway.api(org) as client:
        response = client.post("/api/alerts/rules", json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["param"] == field and f"'{field}'" in error["message"]
        assert client.get("/api/alerts/rules").json() == {"data": []}


def test_a_body_that_is_not_json_is_refused(gateway, org):
    with gateway.api(org) as client:
        response = client.post("/api/alerts/rules", content=b"{not json")
    assert response.status_code == 400 and "valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"name": "x", "type": "sms"}, "type", "webhook, slack, email"),
        ({"name": "x", "type": "webhook", "url": "https://example.com/h"}, "secret", "secret"),
        ({"name": "x", "type": "webhook", "url": "ftp://h/x", "secret": SECRET}, "url", "http"),
        ({"type": "slack", "url": "https://hooks.slack.com/x"}, "name", "required"),
        ({"name": "x", "type": "slack", "url": "http://127.0.0.1:9/x"}, "url", "loopback"),
        ({"name": "x", "type": "slack", "url": "http://localhost/x"}, "url", "loopback"),
        ({"name": "x", "type": "slack", "url": "http://10.1.2.3/x"}, "url", "private"),
        ({"name": "x", "type": "slack", "url": "http://169.254.169.254/x"}, "url", "link-local"),
        ({"name": "x", "type": "slack", "url": "http://[::ffff:127.0.0.1]/"}, "url", "loopback"),
        ({"name": "x", "type": "email", "to": ["a@example.com"]}, "type", "SMTP_HOST"),
        ({"name": "x", "type": "slack", "url": "https://h/x", "secret": SECRET}, "secret", ""),
    ],
)
def test_bad_channels_are_refused_naming_the_field(gateway, org, body, field, problem):
    with gateway.api(org) as client:
        response = client.post("/api/alerts/channels", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field and problem in error["message"]


def test_bad_email_addresses_are_refused(alerts_gateway, team):
    with api(alerts_gateway, team) as client:
        body = {"name": "mail", "type": "email", "to": ["ops@example.com", "not-an-address"]}
        response = client.post("/api/alerts/channels", json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == "to[1]"


def test_channel_secrets_are_never_returned(alerts_gateway, team, hooks):
    slack_url = f"{hooks.url}/services/T1/B1/{SLACK_TOKEN}"
    with api(alerts_gateway, team) as client:
        answers = [
            client.post(
                "/api/alerts/channels",
                json={
                    "name": "ops hook",
                    "type": "webhook",
                    "url": f"{hooks.url}/ops?token=query-secret",
                    "secret": SECRET,
                },
            ),
            client.post(
                "/api/alerts/channels", json={"name": "slack", "type": "slack", "url": slack_url}
            ),
        ]
        assert [a.status_code for a in answers] == [201, 201]
        webhook, slack = (a.json()["data"] for a in answers)
        answers.append(client.get("/api/alerts/channels"))
        answers.append(client.get(f"/api/alerts/channels/{slack['id']}"))
        answers.append(client.post(f"/api/alerts/channels/{slack['id']}/test"))
    assert webhook["config"] == {"url": f"{hooks.url}/********", "secret": "********"}
    assert slack["config"] == {"url": f"{hooks.url}/********"}
    listed = answers[2].json()["data"]
    assert [c["name"] for c in listed] == ["ops hook", "slack"]
    for answer in answers:
        for secret in (SECRET, SLACK_TOKEN, "query-secret", "/ops"):
            assert secret not in answer.text
    for secret in (SECRET, SLACK_TOKEN, "query-secret"):
        assert secret not in alerts_gateway.log()


def test_send_test_notification_per_channel(alerts_gateway, team, hooks, smtp):
    path = f"/test-{uuid.uuid4().hex[:8]}"
    with api(alerts_gateway, team) as client:
        webhook = client.post(
            "/api/alerts/channels",
            json={"name": "hook", "type": "webhook", "url": hooks.url + path, "secret": SECRET},
        ).json()["data"]
        mail = client.post(
            "/api/alerts/channels",
            json={"name": "mail", "type": "email", "to": ["oncall@example.com"]},
        ).json()["data"]
        dead = client.post(
            "/api/alerts/channels",
            json={
                "name": "dead",
                "type": "webhook",
                "url": "http://127.0.0.1:9/dead-token-xyz",
                "secret": SECRET,
            },
        ).json()["data"]
        sent = client.post(f"/api/alerts/channels/{webhook['id']}/test").json()["data"]
        mailed = client.post(f"/api/alerts/channels/{mail['id']}/test").json()["data"]
        failed = client.post(f"/api/alerts/channels/{dead['id']}/test").json()["data"]
        missing = client.post("/api/alerts/channels/nope/test")
    assert sent == {
        "channel_id": webhook["id"],
        "ok": True,
        "attempts": 1,
        "status": 200,
        "error": None,
    }
    [hit] = hooks.at(path)
    assert hit.json()["type"] == "alert.test" and hit.json()["org_id"] == team.org_id
    assert verify(SECRET, hit.body, hit.headers[SIGNATURE_HEADER.lower()])
    assert mailed["ok"]
    [message] = [m for m in smtp.mails if m.rcpt_tos == ["oncall@example.com"]]
    assert message.message["Subject"] == "[RelayScope] TEST: channel check"
    assert message.mail_from == "alerts@relayscope.test"
    assert not failed["ok"] and "ConnectError" in failed["error"]
    assert missing.status_code == 404
    log = wait_until(lambda: (text := alerts_gateway.log()) and "'dead'" in text and text)
    assert "alert.test notification to channel 'dead'" in log
    assert SECRET not in log and "dead-token-xyz" not in log


def test_rules_crud_is_scoped_to_the_org(alerts_gateway, team):
    other = create_org(alerts_gateway.database_url)
    with api(alerts_gateway, team) as client, api(alerts_gateway, other) as stranger:
        created = client.post(
            "/api/alerts/rules",
            json=rule(name="5xx", filters={"provider": "openai"}, min_requests=20),
        )
        assert created.status_code == 201
        body = created.json()["data"]
        assert body["state"] == "ok" and body["cooldown"] == "5m" and body["window_seconds"] == 300
        assert body["description"] == "error_rate > 5 % over 5m"
        rule_id = body["id"]
        assert stranger.get(f"/api/alerts/rules/{rule_id}").status_code == 404
        assert stranger.get("/api/alerts/rules").json() == {"data": []}
        assert stranger.delete(f"/api/alerts/rules/{rule_id}").status_code == 404

        updated = client.put(f"/api/alerts/rules/{rule_id}", json=rule(name="5xx", threshold=9))
        assert updated.status_code == 200 and updated.json()["data"]["threshold"] == 9
        assert client.put(f"/api/alerts/rules/{rule_id}", json=rule(window="x")).status_code == 400
        assert [r["id"] for r in client.get("/api/alerts/rules").json()["data"]] == [rule_id]
        assert client.delete(f"/api/alerts/rules/{rule_id}").status_code == 204
        assert client.get(f"/api/alerts/rules/{rule_id}").status_code == 404


def test_a_rule_fires_and_resolves_inside_the_gateway(alerts_gateway, team, hooks, fake):
    path = f"/fire-{uuid.uuid4().hex[:8]}"
    with api(alerts_gateway, team) as client:
        channel = client.post(
            "/api/alerts/channels",
            json={"name": "hook", "type": "webhook", "url": hooks.url + path, "secret": SECRET},
        ).json()["data"]
        definition = rule(
            name="busy", metric="request_count", comparison=">=", threshold=2, window="1h"
        )
        created = client.post(
            "/api/alerts/rules", json={**definition, "channels": [channel["id"]], "cooldown": 0}
        ).json()["data"]
        with openai.OpenAI(
            base_url=f"{alerts_gateway.url}/openai/v1",
            api_key="sk-provider",
            default_headers=team.auth,
            max_retries=0,
        ) as sdk:
            for _ in range(2):
                sdk.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
        [fired] = hooks.wait_for(path, 1, timeout=15)  # exactly once: asserted below
        payload = fired.json()
        assert payload["type"] == "alert.firing" and payload["rule"]["id"] == created["id"]
        assert payload["value"] == 2 and payload["request_count"] == 2
        assert verify(SECRET, fired.body, fired.headers[SIGNATURE_HEADER.lower()])

        def delivered_history():
            events = client.get("/api/alerts/history").json()["data"]
            return events if events and events[0]["deliveries"] else None

        [event] = wait_until(delivered_history)
        assert event["kind"] == "firing" and event["rule_id"] == created["id"]
        assert event["deliveries"][0]["ok"] and event["deliveries"][0]["channel"] == "hook"
        assert client.get(f"/api/alerts/rules/{created['id']}").json()["data"]["state"] == "firing"

        raised = {**definition, "threshold": 100, "channels": [channel["id"]]}
        assert client.put(f"/api/alerts/rules/{created['id']}", json=raised).status_code == 200
        resolved = hooks.wait_for(path, 2, timeout=15)[1].json()
        assert resolved["type"] == "alert.resolved" and resolved["value"] == 2

        history = client.get("/api/alerts/history", params={"limit": 1}).json()
        assert [e["kind"] for e in history["data"]] == ["resolved"]
        rest = client.get(
            "/api/alerts/history", params={"limit": 1, "cursor": history["next_cursor"]}
        ).json()
        assert [e["kind"] for e in rest["data"]] == ["firing"] and rest["next_cursor"] is None
        assert [h.json()["type"] for h in hooks.at(path)] == ["alert.firing", "alert.resolved"]
        by_rule = client.get("/api/alerts/history", params={"rule_id": "other"}).json()
        assert by_rule["data"] == []
        assert client.get("/api/alerts/history", params={"cursor": "junk"}).status_code == 400
