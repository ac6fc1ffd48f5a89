"""The semantic cache: paraphrases hit, unrelated prompts and other parameters miss."""

from __future__ import annotations

import pytest

from .conftest import chat, openai_client

SEMANTIC = {"Helicone-Cache-Semantic": "true", "Helicone-Cache-Similarity": "0.8"}


def test_a_paraphrase_is_a_hit_with_its_similarity_logged(gateway, org, client, fake):
    original, first = chat(client, "What is the capital of France?", extra_headers=SEMANTIC)
    assert first["helicone-cache"] == "MISS"

    answer, headers = chat(client, "Tell me the capital city of France.", extra_headers=SEMANTIC)
    assert headers["helicone-cache"] == "HIT"
    assert headers["helicone-cache-hit"] == "true"
    similarity = float(headers["helicone-cache-similarity"])
    assert 0.8 <= similarity < 1.0
    assert answer.id == original.id
    assert fake.calls == 1

    record = gateway.record(org, headers["helicone-id"])
    assert record["cache_hit"] is True
    assert record["cache_similarity"] == pytest.approx(similarity, abs=1e-4)
    assert record["cache_source_id"] == first["helicone-id"]
    assert record["cost_usd"] == 0 and record["cost_saved_usd"] > 0


def test_an_unrelated_prompt_is_a_miss(client, fake):
    chat(client, "What is the capital of France?", extra_headers=SEMANTIC)
    answer, headers = chat(client, "How do I bake sourdough bread?", extra_headers=SEMANTIC)
    assert headers["helicone-cache"] == "MISS"
    assert "sourdough" in answer.choices[0].message.content
    assert fake.calls == 2


def test_the_threshold_decides(client, fake):
    chat(client, "Write a haiku about the ocean", extra_headers=SEMANTIC)
    strict = {**SEMANTIC, "Helicone-Cache-Similarity": "0.99"}
    _, headers = chat(client, "Compose a haiku about the sea", extra_headers=strict)
    assert headers["helicone-cache"] == "MISS"
    assert fake.calls == 2


def test_other_models_and_seeds_are_other_partitions(client, fake):
    chat(client, "What is the capital of France?", extra_headers=SEMANTIC)
    _, headers = chat(
        client, "Tell me the capital city of France.", model="gpt-4o", extra_headers=SEMANTIC
    )
    assert headers["helicone-cache"] == "MISS"
    seeded = {**SEMANTIC, "Helicone-Cache-Seed": "s1"}
    _, headers = chat(client, "Tell me the capital city of France.", extra_headers=seeded)
    assert headers["helicone-cache"] == "MISS"
    assert fake.calls == 3


def test_an_exact_repeat_of_a_semantic_request_is_an_exact_hit(client, fake):
    first, _ = chat(client, "Name three primary colours", extra_headers=SEMANTIC)
    again, headers = chat(client, "Name three primary colours", extra_headers=SEMANTIC)
    assert headers["helicone-cache"] == "HIT" and again.id == first.id
    assert "helicone-cache-similarity" not in headers
    assert fake.calls == 1


def test_semantic_orgs_are_isolated(gateway, org, client, fake):
    chat(client, "What is the capital of France?", extra_headers=SEMANTIC)
    other = gateway.new_org()
    with openai_client(gateway.url, other.auth, http_client=gateway.sdk_http()) as theirs:
        _, headers = chat(theirs, "Tell me the capital city of France.", extra_headers=SEMANTIC)
    assert headers["helicone-cache"] == "MISS"
    assert fake.calls == 2
