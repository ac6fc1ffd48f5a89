"""The judge bench: the parsing path on its labelled sets, and the judgment path run
through a gateway (a real process, and in-process to an OpenAI-compatible API named
by ``--target-url``), where the fake provider shows why it measures nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bench import judge
from relayscope.store.base import RequestFilter
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway


def test_no_labelled_answer_is_read_the_wrong_way() -> None:
    for path in (judge.ANSWERS, judge.HELD_OUT):
        figures, misses = judge.parsing(path)
        assert figures["read_the_wrong_way"] == 0, misses
        assert figures["unreadable_given_a_verdict"] == 0, misses
        assert figures["pass_precision"] == 1.0 and figures["fail_precision"] == 1.0


def test_the_tuned_set_is_read_in_full() -> None:
    figures, misses = judge.parsing(judge.ANSWERS)
    assert figures["readable_left_unread"] == 0, misses


def test_the_judgment_path_through_a_gateway_against_the_fake(gateway_process) -> None:  # type: ignore[no-untyped-def]
    """The fake echoes the prompt, whose last words are "... or 'Verdict: FAIL'": every
    item reads as FAIL. The path works end to end; the figure is no judgment."""
    org = gateway_process.new_org()
    target = judge.Judge(gateway_process.url, org.key, "sk-provider", "gpt-4o-mini")
    figures = asyncio.run(judge.judged(target))
    assert figures["items"] == 40 and figures["calls_failed"] == 0
    assert figures["pass_recall"] == 0.0 and figures["fail_recall"] == 1.0


async def test_a_target_url_reaches_any_openai_compatible_api_through_the_gateway(
    tmp_path, fake: FakeProvider
) -> None:
    """``--target-url``: the calls go to ``/gateway`` with ``Helicone-Target-Url``, are
    logged by the gateway with the judge's tag, and reach that API with the model and
    key given."""
    origin = fake.url  # scheme://host:port, as the allowlist takes an http origin
    async with running_gateway(
        tmp_path,
        "http://127.0.0.1:9",  # the gateway's own OpenAI route leads nowhere
        target_allowlist=(origin,),
        target_allow_private_networks=True,
    ) as gw:
        key = gw.client.headers["Helicone-Auth"].removeprefix("Bearer ")
        target = judge.Judge("http://gateway", key, "sk-compatible", "my-judge", fake.url)
        figures = await judge.judged(target, httpx.ASGITransport(app=gw.gateway))
        assert figures["first_failure"] is None, figures
        assert figures["items"] == 40 and figures["calls_failed"] == 0
        assert figures["fail_recall"] == 1.0  # the fake echoes: no judgment, as above

        async def logged() -> int:
            tagged = RequestFilter(properties=(("relayscope-evaluator", "bench-judge"),))
            counted = await gw.gateway.logs.count_matching(gw.org_id, tagged, scan=1000)
            return counted.matched

        await gw.gateway.writer.drain(timeout=10)
        assert await logged() == 40
    sent = [r for r in fake.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 40
    assert {r.json["model"] for r in sent} == {"my-judge"}
    assert {r.headers["authorization"] for r in sent} == {"Bearer sk-compatible"}


def test_the_judge_is_configured_by_flags_or_the_environment() -> None:
    assert judge.judge_from([], {}) is None, "no gateway: the offline measurement only"
    env = {
        "RELAYSCOPE_JUDGE_GATEWAY": "http://gw:8787",
        "RELAYSCOPE_JUDGE_KEY": "sk-relayscope-env",
        "RELAYSCOPE_JUDGE_PROVIDER_KEY": "sk-env",
        "RELAYSCOPE_JUDGE_MODEL": "llama-3.1-70b",
        "RELAYSCOPE_JUDGE_TARGET_URL": "https://api.example.com/openai",
    }
    from_env = judge.judge_from([], env)
    assert from_env == judge.Judge(
        "http://gw:8787",
        "sk-relayscope-env",
        "sk-env",
        "llama-3.1-70b",
        "https://api.example.com/openai",
    )
    flags = judge.judge_from(["--model", "gpt-4o", "--target-url", ""], env)
    assert flags is not None and flags.model == "gpt-4o" and flags.target_url is None
    assert flags.path() == "/openai/v1/chat/completions"
    assert from_env is not None and from_env.path() == "/gateway/v1/chat/completions"
    assert "sk-" not in str(from_env.shown())
    with pytest.raises(SystemExit):
        judge.judge_from(["--gateway", "http://gw:8787"], {})
