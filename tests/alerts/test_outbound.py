"""Outbound URL checks and signatures."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from relayscope.alerts.channels import mask_url
from relayscope.alerts.outbound import TargetRefused, check_url, sign, verify


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://127.8.9.10:8080/x",
        "http://localhost/x",
        "http://api.localhost/x",
        "http://10.0.0.1/",
        "http://192.168.1.20/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
    ],
)
def test_private_targets_are_refused_unless_allowed(url):
    with pytest.raises(TargetRefused, match="RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS"):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "example.com", "http://"]
)
def test_only_http_urls(url):
    with pytest.raises(TargetRefused):
        check_url(url, allow_private=True)


def test_public_targets_pass():
    assert check_url("https://hooks.slack.com/services/T/B/x", allow_private=False)
    assert check_url("http://8.8.8.8:8080/hook", allow_private=False)


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"type":"alert.firing"}'
    expected = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert sign("k" * 16, body) == f"sha256={expected}"
    assert verify("k" * 16, body, f"sha256={expected}")
    assert not verify("k" * 16, body + b" ", f"sha256={expected}")
    assert not verify("k" * 16, body, None)


def test_masked_urls_keep_only_what_is_not_secret():
    assert (
        mask_url("https://u:p@example.com:8443/in?token=1") == "https://example.com:8443/********"
    )
    assert mask_url("https://hooks.slack.com/services/T/B/x") == (
        "https://hooks.slack.com/********"
    )
    assert mask_url("https://example.com") == "https://example.com"
    assert mask_url("https://example.com/?a=1") == "https://example.com/********"
