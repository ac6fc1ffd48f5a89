"""The explorer filter each grouped series names, for the groupings the seeded API
tests do not reach (prompt versions, values cut at the rollups' limit)."""

from __future__ import annotations

from relayscope.analytics.breakdowns import explore_filter
from relayscope.store.rollup import MAX_VALUE


def test_a_prompt_version_group_becomes_the_prompt_id_and_version_filters():
    assert explore_filter("prompt", "support-reply v3") == {
        "prompt_id": "support-reply",
        "prompt_version": "3",
    }
    # An id holding " v" itself: the version is after the last one.
    assert explore_filter("prompt", "a v2 draft v12") == {
        "prompt_id": "a v2 draft",
        "prompt_version": "12",
    }


def test_groups_no_filter_can_select_have_none():
    assert explore_filter("model", "") is None  # requests with no model at all
    assert explore_filter("user", "u" * MAX_VALUE) is None  # cut short in the rollups
    assert explore_filter("provider", "anthropic") == {"provider": "anthropic"}
    assert explore_filter(None, None) == {}
