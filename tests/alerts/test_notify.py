"""Channels against real local receivers: signed webhooks retried with backoff,
Slack's incoming-webhook shape, email over SMTP; secrets stay out of logs."""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime

import pytest
import trustme

from relayscope.alerts.channels import Channel
from relayscope.alerts.notify import Notification, Notifier
from relayscope.alerts.outbound import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from relayscope.alerts.rules import parse_rule
from relayscope.testing.receiver import SmtpReceiver

from .conftest import make_settings

SECRET = "whsec-abcdefghijklmnop"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def channel(kind: str, **config) -> Channel:
    return Channel("ch-1", "org-1", f"my {kind}", kind, config, NOW)


def firing() -> Notification:
    spec = parse_rule({"name": "errors", "metric": "error_rate", "threshold": 5, "window": "5m"})
    return Notification(
        kind="firing",
        org_id="org-1",
        at=NOW,
        event_id="ev-1",
        rule={"id": "rule-1", **spec.to_json()},
        value=42.5,
        observed=42.5,
        requests=40,
        window_start=NOW.replace(minute=0) - (NOW - NOW.replace(second=0)),
        window_end=NOW,
    )


@pytest.fixture
async def notifier():
    notifier = Notifier(make_settings(delivery_backoff=0.1, delivery_attempts=4))
    yield notifier
    await notifier.aclose()


async def test_webhook_is_retried_with_growing_backoff_until_delivered(notifier, receiver):
    receiver.fail_next(2, status=503)
    target = channel("webhook", url=f"{receiver.url}/hook", secret=SECRET)
    delivery = await notifier.send(target, firing())
    assert delivery.ok and delivery.attempts == 3 and delivery.status == 200
    hits = receiver.at("/hook")
    assert [h.status for h in hits] == [503, 503, 200]
    assert len({h.headers[DELIVERY_HEADER.lower()] for h in hits}) == 1, "one delivery id"
    assert len({h.body for h in hits}) == 1
    for hit in hits:
        assert verify(SECRET, hit.body, hit.headers[SIGNATURE_HEADER.lower()])
    first_gap, second_gap = hits[1].at - hits[0].at, hits[2].at - hits[1].at
    assert first_gap >= 0.09 and second_gap >= 0.19, (first_gap, second_gap)
    assert hits[2].json()["summary"].startswith("[FIRING] errors: error_rate is 42.5 %")


async def test_a_client_error_is_not_retried(notifier, receiver):
    receiver.fail_next(1, status=404)
    target = channel("webhook", url=f"{receiver.url}/gone", secret=SECRET)
    delivery = await notifier.send(target, firing())
    assert not delivery.ok and delivery.attempts == 1 and delivery.status == 404
    assert len(receiver.at("/gone")) == 1


async def test_failures_are_logged_without_secrets(notifier, receiver, caplog):
    receiver.fail_next(4, status=500)
    url = f"{receiver.url}/T000/B000/secret-token-in-path"
    caplog.set_level(logging.DEBUG)
    hook = channel("webhook", url=url, secret=SECRET)
    delivery = await notifier.send(hook, firing())
    assert not delivery.ok and delivery.attempts == 4 and "HTTP 500" in delivery.error
    dead = channel("slack", url="http://127.0.0.1:9/services/T000/B000/slack-token")
    down = await notifier.send(dead, firing())
    assert not down.ok and down.attempts == 4
    logged = caplog.text
    assert "failed after 4 attempt(s)" in logged and "my slack" in logged
    for secret in (SECRET, "secret-token-in-path", "slack-token"):
        assert secret not in logged and secret not in str(delivery) and secret not in str(down)


async def test_slack_gets_text_and_blocks(notifier, receiver):
    target = channel("slack", url=f"{receiver.url}/services/T1/B2/xyz")
    assert (await notifier.send(target, firing())).ok
    [hit] = receiver.at("/services/T1/B2/xyz")
    body = hit.json()
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("[FIRING] errors")
    assert body["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": body["text"]},
    }
    assert {b["type"] for b in body["blocks"]} == {"section", "context"}
    fields = body["blocks"][1]["fields"]
    assert all(f["type"] == "mrkdwn" for f in fields)
    assert "*Requests in window*\n40" in [f["text"] for f in fields]
    assert SIGNATURE_HEADER.lower() not in hit.headers, "Slack URLs carry their own token"


async def test_email_is_sent_over_smtp_with_credentials():
    with SmtpReceiver(credentials=("alerts", "smtp-pass-123")) as smtp:
        settings = make_settings(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_username="alerts",
            smtp_password="smtp-pass-123",
            smtp_from="relayscope@example.com",
        )
        notifier = Notifier(settings)
        try:
            target = channel("email", to=["oncall@example.com", "lead@example.com"])
            delivery = await notifier.send(target, firing())
        finally:
            await notifier.aclose()
        assert delivery.ok
        [mail] = smtp.wait_for(1)
    assert mail.login == "alerts"
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    assert mail.message["Subject"] == "[RelayScope] FIRING: errors"
    assert mail.message["From"] == "relayscope@example.com"
    text = mail.message.get_content()
    assert "error_rate is 42.5 %" in text and "Requests in window: 40" in text
    assert "smtp-pass-123" not in repr(settings) and "smtp-pass-123" not in str(settings)


async def test_email_over_starttls_with_a_private_ca(tmp_path):
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with SmtpReceiver(credentials=("alerts", "smtp-pass-123"), tls=server_tls) as smtp:
        settings = make_settings(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_ca_file=str(tmp_path / "ca.pem"),
            smtp_username="alerts",
            smtp_password="smtp-pass-123",
        )
        notifier = Notifier(settings)
        try:
            delivery = await notifier.send(channel("email", to=["oncall@example.com"]), firing())
        finally:
            await notifier.aclose()
        assert delivery.ok, delivery.error
        [mail] = smtp.wait_for(1)
    assert mail.login == "alerts" and mail.message["Subject"] == "[RelayScope] FIRING: errors"


async def test_email_refuses_an_untrusted_certificate():
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_tls)
    with SmtpReceiver(credentials=("alerts", "smtp-pass-123"), tls=server_tls) as smtp:
        notifier = Notifier(
            make_settings(
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                smtp_username="alerts",
                smtp_password="smtp-pass-123",
                delivery_attempts=1,
            )
        )
        try:
            delivery = await notifier.send(channel("email", to=["oncall@example.com"]), firing())
        finally:
            await notifier.aclose()
    assert not delivery.ok and "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert smtp.mails == [] and smtp.failed_logins == 0


async def test_email_refuses_to_log_in_without_starttls(caplog):
    with SmtpReceiver(credentials=("alerts", "smtp-pass-123")) as smtp:
        settings = make_settings(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=True,
            smtp_username="alerts",
            smtp_password="smtp-pass-123",
        )
        notifier = Notifier(settings)
        try:
            delivery = await notifier.send(channel("email", to=["a@example.com"]), firing())
        finally:
            await notifier.aclose()
    assert not delivery.ok and delivery.attempts == 1
    assert "does not offer STARTTLS" in delivery.error
    assert smtp.mails == [] and smtp.failed_logins == 0
    assert "smtp-pass-123" not in caplog.text


async def test_private_targets_are_refused_at_delivery_unless_allowed(receiver):
    notifier = Notifier(make_settings(allow_private_targets=False))
    try:
        target = channel("webhook", url=f"{receiver.url}/private", secret=SECRET)
        delivery = await notifier.send(target, firing())
    finally:
        await notifier.aclose()
    assert not delivery.ok and "target refused" in delivery.error
    assert receiver.at("/private") == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_never_followed(notifier, receiver, status):
    """Documented: "Redirects are not followed". A followed redirect would reach
    ``receiver.location`` (as a POST, or a GET after a 303); a 3xx is final."""
    receiver.fail_next(1, status=status)
    target = channel("webhook", url=f"{receiver.url}/moved-{status}", secret=SECRET)
    delivery = await notifier.send(target, firing())
    assert not delivery.ok and delivery.attempts == 1 and delivery.status == status
    assert [r.path for r in receiver.received] == [f"/moved-{status}"]
