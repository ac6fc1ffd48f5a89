"""Retries through a real gateway: the openai SDK against the fake provider failing on demand."""

from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

from .conftest import FAST_RETRIES, OPENAI_KEY

MESSAGES = [{"role": "user", "content": "hello retries"}]


def sdk(gateway, org) -> openai.OpenAI:
    """The openai SDK as the ``oai`` fixture makes it, for another gateway."""
    return openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=OPENAI_KEY,
        default_headers=org.auth,
        max_retries=0,
    )


def chat(oai, headers, **kwargs):
    return oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers, **kwargs
    )


def test_failures_then_success_is_one_answer_with_every_attempt_logged(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=503), Behaviour(status=500), Behaviour(status=429))
    raw = chat(oai, {**FAST_RETRIES, "Helicone-Retry-Num": "3"})
    completion = raw.parse()
    assert "hello retries" in completion.choices[0].message.content
    assert fake.calls == 4
    assert [r.json for r in fake.requests] == [fake.requests[0].json] * 4, "same body replayed"
    assert raw.headers["helicone-retry-attempts"] == "3"
    assert "helicone-fallback-index" not in raw.headers

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["status"] == 200 and record["error"] is None
    assert [a["status"] for a in record["attempts"]] == [503, 500, 429, 200]
    assert [a["attempt"] for a in record["attempts"]] == [1, 2, 3, 4]
    assert all(
        a["provider"] == "openai" and a["model"] == "gpt-4o-mini" for a in record["attempts"]
    )
    assert "scripted HTTP 503" in record["attempts"][0]["error"]
    assert record["attempts"][3]["error"] is None
    assert record["fallback_index"] == 0
    assert record["latency_ms"] >= sum(a["latency_ms"] for a in record["attempts"])
    assert record["prompt_tokens"] == completion.usage.prompt_tokens
    assert record["completion_tokens"] == completion.usage.completion_tokens
    usage = Usage(
        input_tokens=completion.usage.prompt_tokens,
        output_tokens=completion.usage.completion_tokens,
    )
    price = calc_price(usage, model_ref="gpt-4o-mini", provider_id="openai").total_price
    assert record["cost_usd"] == pytest.approx(float(price))


def test_exhausted_retries_give_the_client_the_last_failure_as_sent(gateway, org, oai, fake):
    fake.enqueue(
        Behaviour(status=503),
        Behaviour(status=502),
        Behaviour(status=429, body={"error": {"message": "last one", "type": "requests"}}),
        Behaviour(),
    )
    with pytest.raises(openai.RateLimitError) as caught:
        chat(oai, {**FAST_RETRIES, "Helicone-Retry-Num": "2"})
    assert fake.calls == 3
    assert caught.value.body == {"message": "last one", "type": "requests"}
    response = caught.value.response
    assert response.headers["helicone-retry-attempts"] == "2"
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["status"] == 429
    assert [a["status"] for a in record["attempts"]] == [503, 502, 429]
    assert record["cost_usd"] is None


def test_without_the_header_nothing_is_retried(oai, fake):
    fake.enqueue(Behaviour(status=503))
    with pytest.raises(openai.InternalServerError):
        chat(oai, {})
    assert fake.calls == 1


@pytest.mark.parametrize(
    ("status", "error"), [(400, openai.BadRequestError), (401, openai.AuthenticationError)]
)
def test_client_errors_are_never_retried(gateway, org, oai, fake, status, error):
    fake.enqueue(Behaviour(status=status), Behaviour())
    with pytest.raises(error) as caught:
        chat(oai, FAST_RETRIES)
    assert fake.calls == 1
    headers = caught.value.response.headers
    assert headers["helicone-retry-attempts"] == "0"
    record = gateway.record(org, headers["helicone-id"])
    assert [a["status"] for a in record["attempts"]] == [status]


def test_retry_after_in_seconds_is_honoured(oai, fake):
    fake.enqueue(Behaviour(status=429, headers={"retry-after": "1"}))
    started = time.monotonic()
    raw = chat(oai, {**FAST_RETRIES, "Helicone-Retry-Max-Timeout": "5000"})
    waited = time.monotonic() - started
    assert raw.parse().choices[0].message.content
    assert fake.calls == 2
    assert 1.0 <= waited < 3.0


def test_retry_after_is_capped_by_the_max_timeout(oai, fake):
    fake.enqueue(Behaviour(status=503, headers={"retry-after": "30"}))
    started = time.monotonic()
    chat(oai, {**FAST_RETRIES, "Helicone-Retry-Max-Timeout": "300"})
    waited = time.monotonic() - started
    assert fake.calls == 2
    assert 0.3 <= waited < 3.0


def test_backoff_waits_at_least_the_min_timeout_between_attempts(oai, fake):
    fake.enqueue(Behaviour(status=500), Behaviour(status=500))
    headers = {
        "Helicone-Retry-Enabled": "true",
        "Helicone-Retry-Min-Timeout": "200",
        "Helicone-Retry-Max-Timeout": "250",
    }
    started = time.monotonic()
    chat(oai, headers)
    assert fake.calls == 3
    assert time.monotonic() - started >= 0.4


def test_dropped_connections_are_retried(gateway, org, oai, fake):
    fake.enqueue(Behaviour(drop_connection=True), Behaviour(drop_connection=True))
    raw = chat(oai, FAST_RETRIES)
    assert raw.parse().choices[0].message.content
    assert fake.calls == 3
    record = gateway.record(org, raw.headers["helicone-id"])
    attempts = record["attempts"]
    assert [a["status"] for a in attempts] == [502, 502, 200]
    assert "Could not reach openai" in attempts[0]["error"]


def test_stream_failing_before_its_first_byte_is_retried(gateway, org, oai, fake):
    fake.enqueue(Behaviour(cut_after_chunks=0), Behaviour(status=503))
    with oai.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=FAST_RETRIES
    ) as response:
        chunks = list(response.parse())
        request_id = response.headers["helicone-id"]
        assert response.headers["helicone-retry-attempts"] == "2"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello retries"
    assert fake.calls == 3
    record = gateway.record(org, request_id)
    assert [a["status"] for a in record["attempts"]] == [200, 503, 200]
    assert "stream broke" in record["attempts"][0]["error"]
    assert record["error"] is None and record["stream"] is True
    assert record["response_body"]["choices"][0]["message"]["content"] == text
    assert record["completion_tokens"] == 3


def test_stream_failing_after_its_first_byte_reaches_the_client(gateway_process, fake):
    # The client reads the first chunks as they come: a gateway process.
    gateway = gateway_process
    org = gateway.new_org()
    fake.enqueue(Behaviour(cut_after_chunks=2), Behaviour())
    received = []
    with (
        sdk(gateway, org) as oai,
        oai.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=FAST_RETRIES
        ) as response,
    ):
        request_id = response.headers["helicone-id"]
        with pytest.raises((httpx.HTTPError, openai.APIError)):
            for chunk in response.parse():
                received.append(chunk)
    assert received, "the client got the first chunks before the break"
    assert fake.calls == 1
    record = gateway.record(org, request_id)
    assert [a["status"] for a in record["attempts"]] == [200]
    assert "upstream stream broke" in record["error"]


def test_no_attempt_is_made_after_the_client_hangs_up(gateway_process, fake):
    # A client that hangs up needs a real connection to close: a gateway process.
    gateway = gateway_process
    org = gateway.new_org()
    fake.set_default(Behaviour(status=503))
    headers = {
        **org.auth,
        "Authorization": "Bearer sk-x",
        "Helicone-Retry-Enabled": "true",
        "Helicone-Retry-Min-Timeout": "600",
        "Helicone-Retry-Max-Timeout": "600",
    }
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{gateway.url}/openai/v1/chat/completions",
            headers={**headers, "Helicone-Request-Id": (request_id := str(uuid.uuid4()))},
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
            timeout=httpx.Timeout(10, read=0.3),
        )
    record = gateway.record(org, request_id)
    assert record["cancelled"] is True and record["status"] == 499
    assert [a["status"] for a in record["attempts"]] == [503]
    # The retry would have gone out 0.6 s after the first attempt; wait past that.
    wait_until(lambda: time.monotonic() - started > 1.2, timeout=5)
    assert fake.calls == 1


@pytest.fixture(scope="module")
def impatient_gateway(tmp_path_factory, fake_server):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_UPSTREAM_READ_TIMEOUT": "0.5"}
    with AsgiGateway(tmp_path_factory.mktemp("impatient"), env) as gateway:
        yield gateway


def test_timeouts_are_retried(impatient_gateway, fake):
    org = impatient_gateway.new_org()
    fake.enqueue(Behaviour(delay_s=2))
    with impatient_gateway.http() as client:
        response = client.post(
            "/openai/v1/chat/completions",
            headers={**org.auth, **FAST_RETRIES, "Authorization": "Bearer sk-x"},
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
        )
    assert response.status_code == 200
    assert fake.calls == 2
    record = impatient_gateway.record(org, response.headers["helicone-id"])
    assert [a["status"] for a in record["attempts"]] == [504, 200]
    assert "Timed out" in record["attempts"][0]["error"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Helicone-Retry-Enabled", "perhaps"),
        ("Helicone-Retry-Num", "eleven"),
        ("Helicone-Retry-Factor", "-2"),
        ("Helicone-Retry-Min-Timeout", "1e9"),
        ("Helicone-Retry-Max-Timeout", "5"),
    ],
)
def test_bad_retry_headers_are_400_naming_the_header(gateway, org, fake, header, value):
    headers = {**org.auth, **FAST_RETRIES, header: value}
    response = gateway.post(
        "/openai/v1/chat/completions",
        headers=headers,
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        timeout=10,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == header and header in error["message"]
    assert fake.calls == 0
