"""The per-partition vector index."""

from __future__ import annotations

import numpy as np
import pytest

from relayscope.cache.index import VectorIndex


def random_units(count: int, dim: int = 16, seed: int = 7) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_search_matches_brute_force_after_adds_and_removes():
    vectors = random_units(300)
    index = VectorIndex(max_per_partition=1000)
    for i, vector in enumerate(vectors):
        index.add("p", f"k{i}", vector, expires_at=10.0)
    for i in range(0, 300, 3):
        index.remove(f"k{i}")
    live = [i for i in range(300) if i % 3]
    query = vectors[5] + 0.01
    query /= np.linalg.norm(query)
    best = max(live, key=lambda i: float(vectors[i] @ query))
    results = index.search("p", query, 0.0, now=0.0)
    assert results[0][0] == f"k{best}"
    assert len(index) == len(live)


def test_expired_vectors_do_not_match_and_partitions_stay_apart():
    vectors = random_units(2)
    index = VectorIndex(max_per_partition=10)
    index.add("p", "old", vectors[0], expires_at=5.0)
    index.add("q", "other", vectors[1], expires_at=50.0)
    assert [key for key, _ in index.search("p", vectors[0], 0.9, now=1.0)] == ["old"]
    assert index.search("p", vectors[0], 0.9, now=6.0) == []
    assert index.search("q", vectors[0], 0.99, now=1.0) == []


def test_a_full_partition_drops_the_soonest_expiring_vector():
    vectors = random_units(3)
    index = VectorIndex(max_per_partition=2)
    index.add("p", "a", vectors[0], expires_at=30.0)
    index.add("p", "b", vectors[1], expires_at=10.0)
    index.add("p", "c", vectors[2], expires_at=20.0)
    assert len(index) == 2
    assert index.search("p", vectors[1], 0.99, now=0.0) == []
    assert index.search("p", vectors[2], 0.99, now=0.0)[0][0] == "c"


def test_large_partitions_shortlist_on_narrow_copies_and_score_exactly():
    """Past EXACT_UP_TO entries the search shortlists on projected vectors; what it
    returns is still the exact best match, with its exact score."""
    from relayscope.cache.index import EXACT_UP_TO

    count = EXACT_UP_TO * 3
    vectors = random_units(count, dim=384, seed=3)
    index = VectorIndex(max_per_partition=count)
    for i, vector in enumerate(vectors):
        index.add("p", f"k{i}", vector, expires_at=10.0)
    rng = np.random.default_rng(5)
    for target in rng.choice(count, size=25, replace=False):
        query = vectors[target] + rng.normal(0, 0.02, 384).astype(np.float32)
        query /= np.linalg.norm(query)
        key, score = index.search("p", query, 0.8, now=0.0)[0]
        assert key == f"k{target}"
        assert score == pytest.approx(float(vectors[target] @ query), abs=1e-6)
    index.remove("k0")
    assert all(key != "k0" for key, _ in index.search("p", vectors[0], 0.5, now=0.0))
    assert index.search("p", vectors[1], 0.5, now=11.0) == []


@pytest.mark.parametrize("layout", ["random", "sorted", "ties", "few"])
def test_the_shortlist_is_exactly_the_highest_rough_scores(layout):
    """The quick top-k keeps the same rows a full partition would, including when the
    sampled cut keeps too few rows (scores sorted so that every 16th one is low)."""
    from relayscope.cache.index import _top

    rng = np.random.default_rng(7)
    size = 200 if layout == "few" else 20_000
    scores = rng.normal(size=size).astype(np.float32)
    if layout == "sorted":
        scores = np.sort(scores)
        scores[::16] = -10.0  # the sample sees only the lowest scores
    elif layout == "ties":
        scores = np.round(scores, 1)
    picked = _top(scores, 128)
    assert len(picked) == len(set(picked.tolist())) == 128
    kth = np.sort(scores)[-128]
    assert (scores[picked] >= kth).all()
    assert (scores > kth).sum() <= 128
