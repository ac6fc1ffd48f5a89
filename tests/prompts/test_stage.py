"""Prompts used by header through a real gateway, with the real openai and anthropic SDKs
(and, at the end, the stage alone in-process over an unreachable store)."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from relayscope.context import Context, ProxyResponse
from relayscope.errors import ServiceUnavailable
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.outcome import PromptOutcome
from relayscope.prompts.repository import PromptRepository
from relayscope.prompts.stage import PromptStage
from relayscope.store.sql import SqlStore
from relayscope.testing.contexts import chat_context

OPENAI_KEY = "sk-provider-secret-0123456789"
ANTHROPIC_KEY = "sk-ant-provider-secret-987"
CLAUDE = "claude-3-5-sonnet-20241022"


@pytest.fixture
def oai(gateway, org):
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=OPENAI_KEY,
        default_headers=org.auth,
        max_retries=0,
        http_client=gateway.sdk_http(),
    ) as sdk:
        yield sdk


@pytest.fixture
def claude(gateway, org):
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        api_key=ANTHROPIC_KEY,
        default_headers=org.auth,
        max_retries=0,
        http_client=gateway.sdk_http(),
    ) as sdk:
        yield sdk


def post_chat(gateway, org, body, extra_headers) -> httpx.Response:
    with gateway.http() as client:
        return client.post(
            "/openai/v1/chat/completions",
            headers={**org.auth, "Authorization": f"Bearer {OPENAI_KEY}", **extra_headers},
            json=body,
        )


SUPPORT = [
    {"role": "system", "content": "You support {{company}} customers."},
    {"role": "user", "content": [{"type": "text", "text": "My issue: {{issue}}"}]},
]


def test_stored_prompt_with_openai_fills_defaults_and_logs_the_version(
    gateway, org, oai, fake, create_prompt, headers
):
    create_prompt(
        "support",
        SUPPORT,
        model="gpt-4o",
        parameters={"temperature": 0.3, "max_tokens": 40},
        labels=["production"],
    )
    variables = {"company": "Acme", "issue": "refund"}
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[],
        temperature=0.9,
        extra_headers=headers("support", variables),
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: My issue: refund"
    assert raw.headers["helicone-prompt-version"] == "1"
    sent = fake.requests[-1].json
    assert sent["messages"] == [
        {"role": "system", "content": "You support Acme customers."},
        {"role": "user", "content": [{"type": "text", "text": "My issue: refund"}]},
    ]
    assert sent["model"] == "gpt-4o-mini", "the request's model overrides the default"
    assert sent["temperature"] == 0.9, "the request's temperature overrides the default"
    assert sent["max_tokens"] == 40, "a default the request did not set applies"

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["prompt_id"] == "support"
    assert record["prompt_version"] == 1
    assert record["prompt_variables"] == variables
    assert record["request_body"]["messages"] == [], "the log keeps what the client sent"
    assert record["request_model"] == "gpt-4o-mini"
    assert record["response_body"]["choices"][0]["message"]["content"] == "Echo: My issue: refund"


def test_stored_prompt_streams_with_openai(gateway, org, oai, fake, create_prompt, headers):
    create_prompt("story", [{"role": "user", "content": "Tell a story about {{topic}}"}])
    with oai.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini",
        messages=[],
        stream=True,
        extra_headers=headers("story", {"topic": "otters"}),
    ) as raw:
        request_id = raw.headers["helicone-id"]
        assert raw.headers["helicone-prompt-version"] == "1"
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: Tell a story about otters"
    record = gateway.record(org, request_id)
    assert record["stream"] is True
    assert (record["prompt_id"], record["prompt_version"]) == ("story", 1)
    assert record["completion_tokens"] > 0
    assert record["response_body"]["choices"][0]["message"]["content"] == text


def test_the_requests_own_messages_follow_the_template(gateway, org, fake, create_prompt, headers):
    create_prompt("tutor", [{"role": "system", "content": "Teach {{subject}}."}])
    conversation = [
        {"role": "user", "content": "what is a prime?"},
        {"role": "assistant", "content": "a number..."},
        {"role": "user", "content": "and 7?"},
    ]
    response = post_chat(
        gateway,
        org,
        {"model": "gpt-4o-mini", "messages": conversation},
        headers("tutor", {"subject": "maths"}),
    )
    assert response.status_code == 200
    assert fake.requests[-1].json["messages"] == [
        {"role": "system", "content": "Teach maths."},
        *conversation,
    ]


def test_stored_prompt_with_anthropic_moves_system_to_the_top_level(
    gateway, org, claude, fake, create_prompt, headers
):
    create_prompt("claude-support", SUPPORT, parameters={"temperature": 0.2, "top_k": 5})
    raw = claude.messages.with_raw_response.create(
        model=CLAUDE,
        max_tokens=64,
        messages=[],
        extra_headers=headers("claude-support", {"company": "Initech", "issue": "TPS"}),
    )
    message = raw.parse()
    assert message.content[0].text == "Echo: My issue: TPS"
    sent = fake.requests[-1].json
    assert sent["system"] == "You support Initech customers."
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "My issue: TPS"}]}
    ]
    assert (sent["max_tokens"], sent["temperature"], sent["top_k"]) == (64, 0.2, 5)
    record = gateway.record(org, raw.headers["helicone-id"])
    assert (record["prompt_id"], record["prompt_version"]) == ("claude-support", 1)
    assert record["provider"] == "anthropic"


def test_stored_prompt_streams_with_anthropic_and_system_blocks(
    gateway, org, claude, fake, create_prompt, headers
):
    create_prompt(
        "haiku",
        [{"role": "user", "content": "A haiku on {{theme}}"}],
        system=[{"type": "text", "text": "You are a {{style}} poet."}],
    )
    with claude.messages.with_streaming_response.create(
        model=CLAUDE,
        max_tokens=64,
        messages=[],
        stream=True,
        extra_headers=headers("haiku", {"theme": "rain", "style": "terse"}),
    ) as raw:
        request_id = raw.headers["helicone-id"]
        events = list(raw.parse())
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "Echo: A haiku on rain"
    assert fake.requests[-1].json["system"] == [{"type": "text", "text": "You are a terse poet."}]
    record = gateway.record(org, request_id)
    assert record["stream"] is True
    assert record["prompt_variables"] == {"theme": "rain", "style": "terse"}


def test_inline_template_is_filled_and_versioned_from_code(gateway, org, oai, fake, api, headers):
    def ask(template: str, value: str) -> str:
        raw = oai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": template}],
            extra_headers=headers("from-code", {"user_input": value}),
        )
        assert raw.parse().choices[0].message.content == f"Echo: {template}".replace(
            "{{user_input}}", value
        )
        return raw.headers["helicone-id"]

    first = ask("{{user_input}}", "hello")
    assert fake.requests[-1].json["messages"] == [{"role": "user", "content": "hello"}]
    again = ask("{{user_input}}", "other words")
    changed = ask("Please answer: {{user_input}}", "why?")

    versions = api.get("/api/prompts/from-code/versions").json()["data"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["messages"] == [{"role": "user", "content": "{{user_input}}"}]
    assert versions[0]["messages"] == [{"role": "user", "content": "Please answer: {{user_input}}"}]
    assert versions[0]["variables"] == ["user_input"]
    assert versions[0]["created_by"] == f"key:{org.key_id}"
    assert [gateway.record(org, rid)["prompt_version"] for rid in (first, again, changed)] == [
        1,
        1,
        2,
    ]
    assert gateway.record(org, again)["request_body"]["messages"][0]["content"] == (
        "{{user_input}}"
    )


def test_inline_template_with_anthropic_stream_and_a_conversation_after_it(
    gateway, org, claude, fake, api, headers
):
    history = [
        {"role": "user", "content": "Question: {{q}}"},
        {"role": "assistant", "content": "Thinking..."},
        {"role": "user", "content": "go on"},
    ]
    with claude.messages.with_streaming_response.create(
        model=CLAUDE,
        max_tokens=64,
        system=[{"type": "text", "text": "Reply as {{persona}}"}],
        messages=history,
        stream=True,
        extra_headers=headers("inline-claude", {"q": "2+2", "persona": "a pirate"}),
    ) as raw:
        request_id = raw.headers["helicone-id"]
        events = list(raw.parse())
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "Echo: go on"
    sent = fake.requests[-1].json
    assert sent["system"] == [{"type": "text", "text": "Reply as a pirate"}]
    assert [m["content"] for m in sent["messages"]] == ["Question: 2+2", "Thinking...", "go on"]
    [version] = api.get("/api/prompts/inline-claude/versions").json()["data"]
    assert version["messages"] == history[:1], "the template ends at its last placeholder"
    assert version["system"] == [{"type": "text", "text": "Reply as {{persona}}"}]
    assert gateway.record(org, request_id)["prompt_version"] == 1


def test_version_header_label_and_production_resolution(
    gateway, org, api, fake, create_prompt, add_version, headers
):
    create_prompt("v", [{"role": "user", "content": "one {{x}}"}])
    add_version("v", [{"role": "user", "content": "two {{x}}"}], labels=["staging"])
    add_version("v", [{"role": "user", "content": "three {{x}}"}])

    def used(version=None) -> tuple[str, str]:
        response = post_chat(
            gateway, org, {"model": "gpt-4o-mini"}, headers("v", {"x": "!"}, version)
        )
        assert response.status_code == 200, response.text
        return response.headers["helicone-prompt-version"], fake.requests[-1].json["messages"][0][
            "content"
        ]

    assert used() == ("3", "three !"), "latest when no production label"
    assert used(1) == ("1", "one !")
    assert used("staging") == ("2", "two !")
    # A label moved through the API applies at once (the cached head is dropped).
    assert api.put("/api/prompts/v/labels/production", json={"version": 1}).status_code == 200
    assert used() == ("1", "one !"), "production when set"
    assert api.put("/api/prompts/v/labels/production", json={"version": 2}).status_code == 200
    assert used() == ("2", "two !")


def test_variable_values_are_inserted_literally_and_json_safe(
    gateway, org, fake, create_prompt, headers
):
    create_prompt("safe", [{"role": "user", "content": "A={{a}} B={{b}} C={{c}} N={{n}}"}])
    tricky = 'quote " backslash \\ newline \n tab \t brace } end'
    variables = {"a": "{{b}}", "b": tricky, "c": "ünïcødé ✓", "n": {"k": [1, None]}}
    response = post_chat(gateway, org, {"model": "gpt-4o-mini"}, headers("safe", variables))
    assert response.status_code == 200, response.text
    upstream = fake.requests[-1]
    content = json.loads(upstream.body)["messages"][0]["content"]
    assert content == f'A={{{{b}}}} B={tricky} C=ünïcødé ✓ N={{"k":[1,null]}}'
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["prompt_variables"] == variables


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_every_prompt_error_is_clear_and_nothing_reaches_the_provider(
    gateway, org, fake, create_prompt, headers
):
    create_prompt("e", [{"role": "user", "content": "{{needed}} and {{also}}"}])
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "plain"}]}

    missing = post_chat(gateway, org, body, headers("e", {"also": 1}))
    assert missing.status_code == 400
    assert "'needed'" in error_of(missing)["message"]
    assert error_of(missing)["param"] == "Helicone-Prompt-Variables"

    bad_json = post_chat(
        gateway,
        org,
        body,
        {"Helicone-Prompt-Id": "e", "Helicone-Prompt-Variables": "{needed: 1"},
    )
    assert bad_json.status_code == 400
    assert "Helicone-Prompt-Variables" in error_of(bad_json)["message"]
    not_object = post_chat(
        gateway, org, body, {"Helicone-Prompt-Id": "e", "Helicone-Prompt-Variables": "[1]"}
    )
    assert not_object.status_code == 400
    assert error_of(not_object)["param"] == "Helicone-Prompt-Variables"

    for version in (7, "canary"):
        response = post_chat(gateway, org, body, headers("e", {"needed": 1, "also": 2}, version))
        assert response.status_code == 404
        assert repr(version) in error_of(response)["message"]
        assert error_of(response)["param"] == "Helicone-Prompt-Version"

    orphan = post_chat(gateway, org, body, {"Helicone-Prompt-Variables": "{}"})
    assert orphan.status_code == 400
    assert "Helicone-Prompt-Id" in error_of(orphan)["message"]
    inline = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "{{x}}"}]}
    bad_id = post_chat(gateway, org, inline, {"Helicone-Prompt-Id": "no spaces allowed"})
    assert bad_id.status_code == 400 and error_of(bad_id)["param"] == "Helicone-Prompt-Id"

    assert fake.calls == 0
    record = gateway.record(org, missing.headers["helicone-id"])
    assert (record["status"], record["prompt_id"]) == (400, "e")
    assert "'needed'" in record["error"]


def test_inline_template_missing_a_variable_is_refused_and_not_registered(
    gateway, org, fake, api, headers
):
    response = post_chat(
        gateway,
        org,
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "{{a}} {{b}}"}]},
        headers("half", {"a": 1}),
    )
    assert response.status_code == 400 and "'b'" in error_of(response)["message"]
    assert fake.calls == 0
    assert api.get("/api/prompts/half").status_code == 404


def test_logs_api_filters_by_prompt_id_and_version(gateway, org, api, headers):
    ids: dict[tuple[str, int], list[str]] = {}
    for prompt_id, template in (
        ("alpha", "{{x}}"),
        ("alpha", "{{x}}"),
        ("alpha", "v2 {{x}}"),
        ("beta", "{{x}}"),
    ):
        response = post_chat(
            gateway,
            org,
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": template}]},
            headers(prompt_id, {"x": "y"}),
        )
        key = (prompt_id, int(response.headers["helicone-prompt-version"]))
        ids.setdefault(key, []).append(response.headers["helicone-id"])
    plain = post_chat(
        gateway, org, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}, {}
    )
    every = [rid for group in ids.values() for rid in group]
    for request_id in [*every, plain.headers["helicone-id"]]:
        gateway.record(org, request_id)

    def listed(**query) -> set[str]:
        response = api.get("/api/requests", params=query)
        assert response.status_code == 200, response.text
        return {r["id"] for r in response.json()["data"]}

    assert listed(prompt_id="alpha") == set(ids["alpha", 1] + ids["alpha", 2])
    assert listed(prompt_id="alpha", prompt_version=1) == set(ids["alpha", 1])
    assert listed(prompt_id="alpha", prompt_version=2) == set(ids["alpha", 2])
    assert listed(prompt_id="beta") == set(ids["beta", 1])
    assert len(ids["alpha", 1]) == 2


def test_prompts_are_invisible_to_other_orgs(gateway, org, fake, create_prompt, headers):
    create_prompt("private", [{"role": "user", "content": "secret {{x}}"}])
    other = gateway.new_org()
    plain = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    response = post_chat(gateway, other, plain, headers("private", {"x": 1}))
    # To the other org it is a prompt never seen: forwarded unchanged, as Helicone does.
    assert response.status_code == 200
    assert response.headers["helicone-warning"].startswith("Helicone-Prompt-Id: no prompt")
    assert fake.requests[-1].json["messages"] == plain["messages"]
    with gateway.api(other) as client:
        assert client.get("/api/prompts/private").status_code == 404
        assert client.get("/api/prompts").json()["data"] == []
    # The same id in the other org is its own prompt.
    mine = post_chat(
        gateway,
        other,
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "theirs {{x}}"}]},
        headers("private", {"x": 1}),
    )
    assert mine.headers["helicone-prompt-version"] == "1"
    assert fake.requests[-1].json["messages"][0]["content"] == "theirs 1"


def test_requests_without_prompt_headers_are_untouched(gateway, org, fake):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "keep {{this}}"}]}
    response = post_chat(gateway, org, body, {})
    assert response.status_code == 200
    assert "helicone-prompt-version" not in response.headers
    assert fake.requests[-1].json["messages"] == body["messages"]
    record = gateway.record(org, response.headers["helicone-id"])
    assert (record["prompt_id"], record["prompt_version"], record["prompt_variables"]) == (
        None,
        None,
        None,
    )


# In-process: the stage alone, over a store that cannot be reached.


def context(helicone: dict[str, str], body: dict) -> Context:
    return chat_context(helicone, json.dumps(body).encode(), request_id="r-1")


@pytest.fixture
async def unreachable_stage():
    store = SqlStore("postgresql://postgres@127.0.0.1:1/nowhere")
    yield PromptStage(PromptCatalog(PromptRepository(store.database)))
    await store.close()


async def test_an_unreachable_store_still_serves_inline_templates_unversioned(unreachable_stage):
    seen: list[Context] = []

    async def upstream(ctx: Context) -> ProxyResponse:
        seen.append(ctx)
        return ProxyResponse(200, [])

    ctx = context(
        {"helicone-prompt-id": "p", "helicone-prompt-variables": '{"q": "hi"}'},
        {"messages": [{"role": "user", "content": "{{q}}"}]},
    )
    response = await unreachable_stage(ctx, upstream)
    assert response.status == 200
    assert json.loads(seen[0].body)["messages"] == [{"role": "user", "content": "hi"}]
    assert ctx.prompt == PromptOutcome("p", {"q": "hi"}, version=None)


async def test_an_unreachable_store_refuses_stored_prompts_with_503(unreachable_stage):
    async def upstream(ctx: Context) -> ProxyResponse:
        raise AssertionError("must not be called")

    ctx = context({"helicone-prompt-id": "p"}, {"messages": []})
    with pytest.raises(ServiceUnavailable) as caught:
        await unreachable_stage(ctx, upstream)
    assert "prompt store" in caught.value.message
    assert "127.0.0.1" not in caught.value.message, "no internals leak to the client"


def test_a_bare_request_takes_model_and_parameters_from_the_version(
    gateway, org, fake, create_prompt, headers
):
    create_prompt(
        "defaults",
        [{"role": "user", "content": "hi {{n}}"}],
        model="gpt-4o",
        parameters={"temperature": 0.4, "seed": 7},
    )
    response = post_chat(gateway, org, {}, headers("defaults", {"n": 1}))
    assert response.status_code == 200, response.text
    sent = fake.requests[-1].json
    assert sent == {
        "model": "gpt-4o",
        "temperature": 0.4,
        "seed": 7,
        "messages": [{"role": "user", "content": "hi 1"}],
    }
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["request_model"] == "gpt-4o"
    assert record["request_body"] == {}


def test_inline_template_streams_with_openai(gateway, org, oai, fake, headers):
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Summarise {{doc}}"}]}],
        stream=True,
        extra_headers=headers("inline-stream", {"doc": "the report"}),
    )
    with stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Echo: Summarise the report"
    sent = fake.requests[-1].json
    assert sent["messages"][0]["content"] == [{"type": "text", "text": "Summarise the report"}]
    assert sent["stream_options"] == {"include_usage": True}, "later stages see the filled body"
