"""``/api/prompts`` through a real gateway: round trips, validation, isolation, rendering."""

from __future__ import annotations

import pytest

TEMPLATE = [
    {"role": "system", "content": "You help {{company}}."},
    {"role": "user", "content": "{{question}}"},
]


def test_create_list_get_version_label_round_trip(api, org):
    created = api.post(
        "/api/prompts",
        json={
            "id": "faq",
            "messages": TEMPLATE,
            "model": "gpt-4o-mini",
            "parameters": {"temperature": 0.1},
            "note": "first cut",
            "labels": ["staging"],
        },
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["id"], data["latest_version"], data["labels"]) == ("faq", 1, {"staging": 1})
    version = data["version"]
    assert version["version"] == 1
    assert version["messages"] == TEMPLATE
    assert version["variables"] == ["company", "question"]
    assert (version["model"], version["parameters"]) == ("gpt-4o-mini", {"temperature": 0.1})
    assert (version["note"], version["created_by"]) == ("first cut", f"key:{org.key_id}")
    assert version["labels"] == ["staging"]

    second = api.post(
        "/api/prompts/faq/versions",
        json={"messages": [{"role": "user", "content": "Q: {{question}}"}], "note": "shorter"},
    )
    assert second.status_code == 201, second.text
    assert second.json()["data"]["version"]["version"] == 2
    assert second.json()["data"]["version"]["variables"] == ["question"]

    labelled = api.put("/api/prompts/faq/labels/production", json={"version": 1})
    assert labelled.json() == {"data": {"prompt_id": "faq", "label": "production", "version": 1}}

    listing = api.get("/api/prompts").json()["data"]
    assert [(p["id"], p["latest_version"], p["labels"]) for p in listing] == [
        ("faq", 2, {"production": 1, "staging": 1})
    ]
    default = api.get("/api/prompts/faq").json()["data"]
    assert default["version"]["version"] == 1, "production is the default"
    assert default["version"]["labels"] == ["production", "staging"]
    assert (
        api.get("/api/prompts/faq", params={"version": 2}).json()["data"]["version"]["note"]
        == "shorter"
    )
    assert (
        api.get("/api/prompts/faq", params={"version": "staging"}).json()["data"]["version"][
            "version"
        ]
        == 1
    )
    versions = api.get("/api/prompts/faq/versions").json()["data"]
    assert [(v["version"], v["labels"]) for v in versions] == [
        (2, []),
        (1, ["production", "staging"]),
    ]


def test_versions_are_immutable_and_labels_move(api):
    api.post("/api/prompts", json={"id": "p", "messages": [{"role": "user", "content": "a"}]})
    api.post("/api/prompts/p/versions", json={"messages": [{"role": "user", "content": "b"}]})
    api.put("/api/prompts/p/labels/production", json={"version": 1})
    api.put("/api/prompts/p/labels/production", json={"version": 2})
    versions = api.get("/api/prompts/p/versions").json()["data"]
    assert [(v["version"], v["messages"][0]["content"], v["labels"]) for v in versions] == [
        (2, "b", ["production"]),
        (1, "a", []),
    ]
    assert api.put("/api/prompts/p/versions", json={}).status_code == 405


def test_render_previews_a_fill_without_calling_a_provider(api, fake):
    api.post(
        "/api/prompts",
        json={
            "id": "r",
            "messages": TEMPLATE,
            "model": "claude-3-5-haiku-latest",
            "parameters": {"max_tokens": 20},
        },
    )
    variables = {"company": "Acme", "question": '{{company}} "quoted"\nline'}
    rendered = api.post("/api/prompts/r/render", json={"variables": variables})
    assert rendered.status_code == 200, rendered.text
    data = rendered.json()["data"]
    assert data["version"] == 1
    assert data["messages"] == [
        {"role": "system", "content": "You help Acme."},
        {"role": "user", "content": '{{company}} "quoted"\nline'},
    ]
    as_claude = api.post(
        "/api/prompts/r/render", json={"version": 1, "variables": variables, "format": "anthropic"}
    ).json()["data"]["body"]
    assert as_claude == {
        "max_tokens": 20,
        "model": "claude-3-5-haiku-latest",
        "system": "You help Acme.",
        "messages": [{"role": "user", "content": '{{company}} "quoted"\nline'}],
    }
    assert fake.calls == 0

    missing = api.post("/api/prompts/r/render", json={"variables": {"company": "x"}})
    assert missing.status_code == 400
    assert "'question'" in missing.json()["error"]["message"]
    assert missing.json()["error"]["param"] == "variables"
    unknown = api.post("/api/prompts/r/render", json={"version": "prod", "variables": variables})
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "version"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "param"),
    [
        ("POST", "/api/prompts", {"messages": TEMPLATE}, 400, "id"),
        ("POST", "/api/prompts", {"id": "bad id", "messages": TEMPLATE}, 400, "id"),
        ("POST", "/api/prompts", {"id": "x", "messages": [{"role": ""}]}, 400, "messages[0].role"),
        ("POST", "/api/prompts", {"id": "x", "messages": TEMPLATE, "temp": 1}, 400, "temp"),
        (
            "POST",
            "/api/prompts",
            {"id": "x", "messages": TEMPLATE, "parameters": {"messages": []}},
            400,
            "parameters.messages",
        ),
        ("POST", "/api/prompts", {"id": "x", "messages": [], "labels": [9]}, 400, "messages"),
        (
            "POST",
            "/api/prompts",
            {"id": "y", "messages": TEMPLATE, "labels": ["1"]},
            400,
            "labels[0]",
        ),
        ("POST", "/api/prompts", [1, 2], 400, "body"),
        ("POST", "/api/prompts/missing/versions", {"messages": TEMPLATE}, 404, "id"),
        ("POST", "/api/prompts/x/versions", {"messages": 3}, 400, "messages"),
        ("GET", "/api/prompts/missing", None, 404, "id"),
        ("GET", "/api/prompts/missing/versions", None, 404, "id"),
        ("PUT", "/api/prompts/x/labels/1abc", {"version": 1}, 400, "label"),
        ("PUT", "/api/prompts/x/labels/production", {"version": "1"}, 400, "version"),
        ("PUT", "/api/prompts/x/labels/production", {"version": 9}, 404, "version"),
        # Numbers past any version's range used to overflow the store's integer (500).
        ("PUT", "/api/prompts/x/labels/production", {"version": 2**63}, 400, "version"),
        ("GET", "/api/prompts/x?version=99999999999999999999", None, 400, "version"),
        ("GET", "/api/prompts/x?version=0", None, 400, "version"),
        ("POST", "/api/prompts/x/render", {"version": "9" * 5000}, 400, "version"),
        ("PUT", "/api/prompts/missing/labels/production", {"version": 1}, 404, "id"),
        ("POST", "/api/prompts/x/render", {"variables": []}, 400, "variables"),
        ("POST", "/api/prompts/x/render", {"format": "gemini"}, 400, "format"),
    ],
)
def test_invalid_calls_get_openai_style_errors_naming_the_field(
    api, method, path, body, status, param
):
    api.post("/api/prompts", json={"id": "x", "messages": TEMPLATE})
    response = api.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert error["message"] and error["type"]


def test_an_existing_id_conflicts(api):
    body = {"id": "dup", "messages": TEMPLATE}
    assert api.post("/api/prompts", json=body).status_code == 201
    again = api.post("/api/prompts", json=body)
    assert again.status_code == 409
    assert "/api/prompts/dup/versions" in again.json()["error"]["message"]


def test_a_body_that_is_not_json_is_refused(api):
    response = api.post("/api/prompts", content=b"{not json")
    assert response.status_code == 400 and response.json()["error"]["param"] == "body"


def test_the_api_needs_a_gateway_key(gateway):
    with gateway.http() as client:
        response = client.get("/api/prompts")
    assert response.status_code == 401
    assert "Authorization" in response.json()["error"]["message"]


def test_orgs_see_only_their_own_prompts(gateway, api):
    api.post("/api/prompts", json={"id": "mine", "messages": TEMPLATE})
    with gateway.api(gateway.new_org()) as other:
        assert other.get("/api/prompts").json()["data"] == []
        assert other.get("/api/prompts/mine").status_code == 404
        assert other.post("/api/prompts/mine/render", json={}).status_code == 404
        labelled = other.put("/api/prompts/mine/labels/production", json={"version": 1})
        assert labelled.status_code == 404
        # Creating the same id in another org is allowed and independent.
        created = other.post("/api/prompts", json={"id": "mine", "messages": TEMPLATE})
        assert created.status_code == 201
    assert api.get("/api/prompts/mine").json()["data"]["labels"] == {}
