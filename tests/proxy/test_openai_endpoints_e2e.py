"""OpenAI's endpoints besides chat and responses, with the real openai SDK through a
real gateway: embeddings, models, moderations, images, audio, files and batches."""

from __future__ import annotations

import hashlib

import openai
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.fake_provider.resources import SPEECH_BYTES_PER_CHARACTER

PROVIDER_KEY = "sk-provider-secret-0123456789"
AUDIO = b"RIFF" + bytes(range(256)) * 400 + b"\r\n--not-a-boundary\r\n" + b"\x00\xff" * 50


@pytest.fixture
def client(gateway, org):
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key=PROVIDER_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk


def price(model: str, input_tokens: int, output_tokens: int = 0) -> float:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return float(calc_price(usage, model_ref=model, provider_id="openai").total_price)


def test_embeddings_are_logged_with_tokens_and_cost(gateway, org, client):
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["one two three", "four five"]
    )
    result = raw.parse()
    assert len(result.data) == 2
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["prompt_tokens"] == result.usage.prompt_tokens == 5
    assert record["cost_usd"] == pytest.approx(price("text-embedding-3-small", 5))
    assert len(record["response_body"]["data"]) == 2


def test_models_list_is_logged_as_a_request(gateway, org, client):
    raw = client.models.with_raw_response.list()
    names = [model.id for model in raw.parse()]
    assert "gpt-4o-mini" in names
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["path"] == "/openai/v1/models"
    assert [m["id"] for m in record["response_body"]["data"]] == names
    assert record["cost_usd"] is None and record["prompt_tokens"] is None


def test_moderations_are_logged(gateway, org, client):
    raw = client.moderations.with_raw_response.create(input=["a calm sentence", "violence"])
    result = raw.parse()
    assert [r.flagged for r in result.results] == [False, True]
    record = gateway.record(org, raw.headers["helicone-id"])
    assert [r["flagged"] for r in record["response_body"]["results"]] == [False, True]
    assert record["request_body"]["input"] == ["a calm sentence", "violence"]


def test_token_priced_images_get_a_cost_and_others_none(gateway, org, client):
    raw = client.images.with_raw_response.generate(model="gpt-image-1", prompt="a red fox", n=2)
    images = raw.parse()
    assert len(images.data) == 2 and images.usage is not None
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["prompt_tokens"] == images.usage.input_tokens
    assert record["completion_tokens"] == images.usage.output_tokens
    expected = price("gpt-image-1", images.usage.input_tokens, images.usage.output_tokens)
    assert record["cost_usd"] == pytest.approx(expected)

    # dall-e prices are per image and size, which genai-prices does not hold: no guess.
    raw = client.images.with_raw_response.generate(
        model="dall-e-3", prompt="a blue fox", response_format="url"
    )
    assert raw.parse().data[0].url
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["cost_usd"] is None
    assert record["response_body"]["data"][0]["url"].endswith(".png")


def test_transcription_upload_passes_through_byte_exact_and_logs_metadata(
    gateway, org, client, fake
):
    raw = client.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("speech.wav", AUDIO, "audio/wav")
    )
    transcription = raw.parse()
    sent = fake.requests[-1]
    assert transcription.text == f"Fake transcription of {len(AUDIO)} bytes"
    # The fake hashed the file part it parsed out of the body it received.
    assert raw.http_response.json()["sha256"] == hashlib.sha256(AUDIO).hexdigest()
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")

    record = gateway.record(org, raw.headers["helicone-id"])
    logged = record["request_body"]
    assert isinstance(logged, str)
    assert 'name="model"' in logged and "whisper-1" in logged
    assert 'filename="speech.wav"' in logged
    assert f"[RelayScope: {len(AUDIO)} bytes of audio/wav not logged]" in logged
    assert len(logged) < 1000
    assert record["response_body"]["text"] == transcription.text
    assert record["cost_usd"] is None


def test_raw_multipart_body_reaches_the_provider_unchanged(gateway, org, fake):
    boundary = "relayscope-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n'
            "gpt-4o-transcribe\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="a.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n'
        ).encode()
        + AUDIO
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = gateway.post(
        "/openai/v1/audio/transcriptions",
        content=body,
        headers={
            **org.auth,
            "Authorization": f"Bearer {PROVIDER_KEY}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 200
    assert fake.requests[-1].body == body
    record = gateway.record(org, response.headers["helicone-id"])
    usage = response.json()["usage"]
    assert record["prompt_tokens"] == usage["input_tokens"]
    assert record["completion_tokens"] == usage["output_tokens"]
    assert record["cost_usd"] is None  # audio tokens have their own rate: no guess


def test_speech_is_streamed_to_the_client_and_logged_as_metadata(gateway, org, client):
    text = "hello there, this is speech"
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text
    ) as raw:
        audio = raw.read()
        request_id = raw.headers["helicone-id"]
    size = len(text) * SPEECH_BYTES_PER_CHARACTER
    assert len(audio) == size and audio.startswith(b"ID3")
    record = gateway.record(org, request_id)
    assert record["response_body"] == f"[RelayScope: {size} bytes of audio/mpeg not logged]"
    assert record["response_body_bytes"] == size
    assert record["request_body"]["input"] == text


def test_files_and_batches_pass_through_and_are_logged(gateway, org, client):
    lines = b'{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions"}\n'
    upload = client.files.with_raw_response.create(
        file=("batch.jsonl", lines, "application/jsonl"), purpose="batch"
    )
    made = upload.parse()
    assert made.bytes == len(lines) and made.filename == "batch.jsonl"
    record = gateway.record(org, upload.headers["helicone-id"])
    assert record["path"] == "/openai/v1/files"
    assert (
        f"[RelayScope: {len(lines)} bytes of application/jsonl not logged]"
        in (record["request_body"])
    )
    assert record["response_body"]["id"] == made.id

    assert client.files.content(made.id).read() == lines
    batch = client.batches.with_raw_response.create(
        input_file_id=made.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    created = batch.parse()
    record = gateway.record(org, batch.headers["helicone-id"])
    assert record["request_body"]["input_file_id"] == made.id
    assert record["response_body"]["id"] == created.id
    assert client.batches.retrieve(created.id).status == "validating"
    cancelled = client.batches.with_raw_response.cancel(created.id)
    assert cancelled.parse().status == "cancelling"
    assert gateway.record(org, cancelled.headers["helicone-id"])["status"] == 200
    deleted = client.files.with_raw_response.delete(made.id)
    assert deleted.parse().deleted is True
    assert gateway.record(org, deleted.headers["helicone-id"])["response_body"]["deleted"] is True


def test_a_streamed_transcription_is_assembled_with_its_usage(gateway, org, client):
    with client.audio.transcriptions.with_streaming_response.create(
        model="gpt-4o-transcribe", file=("speech.wav", AUDIO, "audio/wav"), stream=True
    ) as raw:
        request_id = raw.headers["helicone-id"]
        events = list(raw.parse())
    text = "".join(e.delta for e in events if e.type == "transcript.text.delta")
    done = events[-1]
    assert done.type == "transcript.text.done" and done.text == text
    record = gateway.record(org, request_id)
    assert record["stream"] is True
    assert record["response_body"]["text"] == text
    assert record["prompt_tokens"] == done.usage.input_tokens
    assert record["completion_tokens"] == done.usage.output_tokens
    assert record["cost_usd"] is None
