"""Redaction covers every stored field that can carry user content, not only bodies.

An upstream error that quotes the input used to keep an email address and a card
number in the record's ``error`` (and in each retry attempt's error).
"""

from __future__ import annotations

import openai
import orjson
import pytest

from relayscope.testing.fake_provider import Behaviour

EMAIL = "bob@example.com"
CARD = "4111 1111 1111 1111"
SECRET_WORDS = ("bob@example.com", "4111 1111 1111 1111", "4111111111111111")


def test_an_upstream_error_quoting_the_input_is_stored_redacted(gateway, org, fake):
    with gateway.api(org) as api:
        for detector in ("email", "card"):
            rule = {"kind": "detector", "value": detector}
            assert api.post("/api/redaction-rules", json=rule).status_code == 201
    said = f"mail {EMAIL}, card {CARD}"
    fake.enqueue(
        Behaviour(
            status=400,
            body={
                "error": {
                    "message": f"Invalid 'messages[0].content': {said!r} is not allowed",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": None,
                }
            },
        )
    )
    client = openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key="sk-fake",
        max_retries=0,
        default_headers={
            **org.auth,
            "Helicone-Retry-Enabled": "true",
            "Helicone-Property-Contact": f"write to {EMAIL}",
            "Helicone-Request-Name": f"card {CARD}",
            "Helicone-Session-Id": "s-1",
            "Helicone-Session-Name": f"support for {EMAIL}",
        },
    )
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": said}]
        )
    assert EMAIL in str(raised.value), "the client still gets the provider's own answer"

    record = gateway.record(org, raised.value.response.headers["helicone-id"])
    assert record["status"] == 400
    assert record["error"] == (
        "Invalid 'messages[0].content': 'mail [REDACTED], card [REDACTED]' is not allowed"
    )
    properties = {name.lower(): value for name, value in record["properties"].items()}
    assert properties["contact"] == "write to [REDACTED]", properties
    assert record["request_name"] == "card [REDACTED]"
    assert record["session_name"] == "support for [REDACTED]"
    assert record["attempts"] and "[REDACTED]" in record["attempts"][0]["error"]
    stored = orjson.dumps(record).decode()
    leaked = [word for word in SECRET_WORDS if word in stored]
    assert not leaked, f"stored unredacted: {leaked}"
