"""The embedder: one long-lived thread that outlives a failing call, and the vectors of
recent prompts kept, so a prompt asked again is not embedded again."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from relayscope.cache import embedding
from relayscope.cache.embedding import Embedder, _Worker


@pytest.fixture
def embedder():
    model = Embedder()
    yield model
    model.close()


class Counting:
    """Wraps the loaded model to count (and optionally fail) the embeddings it runs."""

    def __init__(self, model: embedding.Model, fail_on: str | None = None) -> None:
        self.model, self.fail_on, self.texts = model, fail_on, []
        self.threads: set[str] = set()

    def embed(self, text: str) -> np.ndarray:
        self.texts.append(text)
        self.threads.add(threading.current_thread().name)
        if text == self.fail_on:
            raise ValueError("the model cannot take this prompt")
        return self.model.embed(text)


async def test_a_prompt_asked_again_gets_the_same_vector_without_running_the_model(embedder):
    assert await embedder.load()
    counting = Counting(embedder._model)
    embedder._model = counting
    first = await embedder.embed("How do I reset my password?")
    again = await embedder.embed("How do I reset my password?")
    other = await embedder.embed("How do I change my email address?")
    assert first is not None and again is not None and other is not None
    assert again is first and not first.flags.writeable  # shared, so nobody may change it
    assert counting.texts == ["How do I reset my password?", "How do I change my email address?"]
    assert counting.threads == {"embedder"}  # never the event loop's thread

    embedder.forget_recent()
    fresh = await embedder.embed("How do I reset my password?")
    assert fresh is not None and fresh is not first
    np.testing.assert_allclose(fresh, first, atol=1e-6)
    assert len(counting.texts) == 3


async def test_recent_vectors_are_bounded_oldest_first(embedder, monkeypatch):
    monkeypatch.setattr(embedding, "RECENT", 2)
    assert await embedder.load()
    counting = Counting(embedder._model)
    embedder._model = counting
    for text in ("one", "two", "one", "three", "one", "two"):
        await embedder.embed(text)
    # "two" was the oldest when "three" came, so it is embedded again; "one" stayed.
    assert counting.texts == ["one", "two", "three", "two"]


async def test_a_failing_embedding_fails_that_request_only(embedder):
    assert await embedder.load()
    counting = Counting(embedder._model, fail_on="bad prompt")
    embedder._model = counting
    assert await embedder.embed("bad prompt") is None
    vector = await embedder.embed("good prompt")
    assert vector is not None and vector.shape == (embedding.DIMENSIONS,)
    assert not embedder.failed  # semantic matching stays on for everyone else


async def test_the_worker_thread_survives_errors_and_cancelled_waiters():
    worker = _Worker("test-worker")
    assert not worker.alive  # started by the first call only
    try:

        def boom() -> None:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await worker.run(boom)
        assert worker.alive

        release = threading.Event()
        slow = worker.run(lambda: release.wait(5) and "slow")
        slow.cancel()  # the request went away while its call was queued or running
        release.set()
        assert await worker.run(lambda: 42) == 42  # runs after the cancelled one, in order
        assert slow.cancelled() and worker.alive
    finally:
        worker.close()
    await asyncio.to_thread(worker._thread.join, 5)
    assert not worker.alive


async def test_a_closed_embedder_answers_none_instead_of_hanging(embedder):
    assert await embedder.load()
    embedder.close()
    assert await embedder.embed("anything new") is None
