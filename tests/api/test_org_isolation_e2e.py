"""Org isolation: every API route and dashboard page, called by another org with this
org's ids, returns nothing of this org and changes nothing of it.

The sweep is generic: it enumerates the routes of the API app and of the dashboard
app the gateway builds, fills path parameters by name with every value org A has
(``OrgA.fill``), sends the body examples of the OpenAPI description, and tries every
query parameter it has an A value for (for the API, those the description documents;
for dashboard pages, every name it knows). A route with a path parameter it cannot
fill fails the test, listing it, so routes added later are covered as soon as they
exist. Reads that take a time range get a fixed one, so answers do not depend on
the clock.

Every create operation of the description is also called for A with its body
example, so each feature's resources (alert rules, channels, webhooks, rate limits,
...) exist in A and their ids are among the values tried. URLs in examples are
replaced by a loopback sink (on a gateway that allows private targets), so nothing
the sweep creates can make the gateway call out of the machine.

What "nothing" means:
- before org B writes anything, each of B's API reads answers exactly what a fresh
  org C's read answers (same status, same body): B learns no more than an org with
  no data; and B's answers stay the same while A sends requests (non-interference);
- no answer to B, API or page, ever contains a secret of A that B did not send itself
  (org name and ids, key id, bodies, prompt text, property name, redaction pattern,
  provider key and its last four, request, rule, session and other resource ids);
- no answer is a 5xx;
- after every write and delete B makes, every API read of A answers as it did before,
  and A's cached response is still a HIT.
Dashboard pages hold the org's name, a CSRF token and times relative to now, so they
are held to the secrets and 5xx rules, not compared byte for byte.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
from starlette.routing import BaseRoute, Mount, Route

from relayscope.api.openapi import document
from relayscope.config import Settings
from relayscope.dashboard.admin import TABS as ADMIN_TABS
from relayscope.gateway import build_gateway
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env
from relayscope.testing.stores import StoreUrls

PARAM = re.compile(r"{(\w+)(?::\w+)?}")
DASHBOARD_SESSION_ROUTES = {
    ("GET", "/"),  # a redirect to /dashboard
    ("GET", "/dashboard/signin"),
    ("POST", "/dashboard/signin"),
    ("POST", "/dashboard/signout"),
}
"""Routes about the caller's own dashboard session, not about an org's data."""
ENDLESS_STREAMS = {("GET", "/dashboard/requests/live")}
"""Event streams that stay open while the client listens, so a sweep read would never
end: tests/dashboard/test_live_tail.py shows the live tail carries only its org's
requests."""
ECHOES_THE_CALLER = {"/api/audit-log", "/dashboard/admin/audit"}
"""The audit log lists the calls its own org made: after B's writes it holds the ids of
A's that B sent. Checked instead that every entry in it is a call of B's own key."""
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = (
    ("from", (NOW - timedelta(days=1)).isoformat()),
    ("to", (NOW + timedelta(days=1)).isoformat()),
)


@dataclass
class OrgA:
    org: OrgKey
    marker: str
    user_id: str
    session_id: str
    property_name: str
    request_ids: list[str]
    cached_request: dict[str, Any]
    prompt_id: str
    rule_id: str
    rule_pattern: str
    provider_key: str
    made: list[str]
    """Ids of what the description's create examples made in A (alert rules, ...)."""
    row_ids: list[str] = field(default_factory=list)
    """Rows of A's datasets."""
    dataset_ids: list[str] = field(default_factory=list)
    virtual_key_secrets: list[str] = field(default_factory=list)
    """A's virtual key: its secret, its prefix, its credential and that one's last four."""

    def fill(self) -> dict[str, list[str]]:
        """Candidate values by parameter name: every id of A a route might take."""
        return {
            "id": [
                *self.request_ids,
                self.rule_id,
                self.prompt_id,
                self.session_id,
                *self.made,
            ],
            "user_id": [self.user_id],
            "session_id": [self.session_id],
            "prompt_id": [self.prompt_id],
            "name": [self.property_name],
            "provider": ["openai"],
            "label": ["production"],
            "row_id": self.row_ids,
            "tab": [tab for tab, _label in ADMIN_TABS],
            "key_id": [self.org.key_id],
        }

    def secrets(self) -> set[str]:
        return {
            self.org.name,
            self.org.org_id,
            self.org.key_id,
            self.marker,
            self.user_id,
            self.session_id,
            self.property_name,
            *self.request_ids,
            *self.made,
            *self.row_ids,
            *self.dataset_ids,
            # Not the prompt id: it is the description's public example (its text is secret).
            self.rule_id,
            self.rule_pattern,
            self.provider_key,
            self.provider_key[-4:],
            *self.virtual_key_secrets,
        }


@dataclass(frozen=True)
class Call:
    surface: str
    """``api`` or ``dashboard``: which client sends it."""
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    sent: frozenset[str] = field(default=frozenset())
    raw: bytes | None = None
    """A body that is not JSON (JSON Lines), sent as is."""
    form: tuple[tuple[str, str], ...] | None = None
    """A dashboard form's fields; the session's CSRF token is added as a browser would."""

    def send(self, clients: dict[str, httpx.Client]) -> httpx.Response:
        client = clients[self.surface]
        if self.form is not None:
            page = client.get("/dashboard/datasets")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, "the dashboard page has no CSRF token"
            data = {**dict(self.form), "csrf_token": token.group(1)}
            return client.request(self.method, self.path, data=data)
        if self.raw is not None:
            return client.request(self.method, self.path, content=self.raw)
        return client.request(self.method, self.path, params=self.params, json=self.body)

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.method} {self.path}{'?' + query if query else ''}"


def chat(gateway: Sweep, headers: dict[str, str], content: str) -> httpx.Response:
    with gateway.gateway.http() as client:
        response = client.post(
            "/openai/v1/chat/completions",
            headers=headers,
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]},
        )
    assert response.status_code == 200, response.text
    return response


class Sweep:
    """The sweep's own gateway: alert and webhook targets may be on loopback."""

    def __init__(self, gateway: AsgiGateway, sink: str) -> None:
        self.gateway = gateway
        self.sink = sink

    def new_org(self) -> OrgKey:
        return self.gateway.new_org()

    def api(self, org: OrgKey) -> httpx.Client:
        return self.gateway.api(org)

    def dashboard(self, org: OrgKey) -> httpx.Client:
        """A client signed in to the dashboard as ``org``, the way a browser does."""
        client = self.gateway.http()
        form = client.get("/dashboard/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, "the sign-in form has no CSRF token"
        signed = client.post(
            "/dashboard/signin",
            data={"csrf_token": token.group(1), "key": org.key, "next": "/dashboard/requests"},
            headers={"cookie": f"relayscope_signin_csrf={token.group(1)}"},
        )
        assert signed.status_code == 303, signed.text
        # Secure cookies: browsers send them to a loopback http origin, http.cookiejar does not.
        session = re.search(r"relayscope_session=([^;]+)", signed.headers["set-cookie"])
        assert session, signed.headers
        client.cookies.clear()
        client.headers["cookie"] = f"relayscope_session={session.group(1)}"
        return client

    def clients(self, org: OrgKey) -> dict[str, httpx.Client]:
        return {"api": self.api(org), "dashboard": self.dashboard(org)}

    def record(self, org: OrgKey, request_id: str) -> dict[str, Any]:
        return self.gateway.record(org, request_id)

    def local(self, value: Any) -> Any:
        """``value`` with every URL pointed at the loopback sink."""
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.sink
        if isinstance(value, dict):
            return {k: self.local(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.local(v) for v in value]
        return value


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_server, store_urls: StoreUrls) -> Iterator[Sweep]:
    """A gateway of its own, whose webhook and alert targets go to a local sink (not the
    shared fake provider, whose call counts other tests assert). The alert evaluator is
    off: it would change A's rule states while the sweep compares A's answers."""
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    data_dir = tmp_path_factory.mktemp("isolation")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
        "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RELAYSCOPE_ALERTS_ENABLED": "false",
    }
    try:
        with AsgiGateway(data_dir, env) as asgi:
            yield Sweep(asgi, f"http://127.0.0.1:{sink.server_port}/sink")
    finally:
        sink.shutdown()
        sink.server_close()
        thread.join(5)


def create_examples(gateway: Sweep, org: OrgKey) -> list[str]:
    """Call every create operation (POST on a path without parameters) with its example;
    the ids of what was made."""
    ids = []
    with gateway.api(org) as api:
        for path, item in document()["paths"].items():
            operation = item.get("post")
            if operation is None or PARAM.search(path) or "requestBody" not in operation:
                continue
            if "application/json" not in operation["requestBody"]["content"]:
                continue
            example = operation["requestBody"]["content"]["application/json"]["example"]
            response = api.post(path, json=gateway.local(example))
            assert response.status_code < 500, f"POST {path}: {response.text}"
            if response.status_code < 300:
                made = response.json().get("data")
                if isinstance(made, dict) and isinstance(made.get("id"), str):
                    ids.append(made["id"])
    return ids


@pytest.fixture(scope="module")
def org_a(gateway: Sweep, fake_server) -> OrgA:
    org = gateway.new_org()
    marker = f"ALPHA-{uuid.uuid4().hex}"
    user_id, session_id = f"alice-{uuid.uuid4().hex[:8]}", f"sess-{uuid.uuid4().hex[:8]}"
    property_name = f"alpha{uuid.uuid4().hex[:8]}"
    tagged = {
        **org.auth,
        "Helicone-User-Id": user_id,
        "Helicone-Session-Id": session_id,
        f"Helicone-Property-{property_name}": marker,
    }
    cached = {**tagged, "Helicone-Cache-Enabled": "true"}
    ids = [chat(gateway, tagged, f"{marker} plain").headers["helicone-id"]]
    first = chat(gateway, cached, f"{marker} cached")
    assert first.headers["helicone-cache"] == "MISS"
    ids.append(first.headers["helicone-id"])
    hit = chat(gateway, cached, f"{marker} cached")
    assert hit.headers["helicone-cache"] == "HIT"
    ids.append(hit.headers["helicone-id"])
    for request_id in ids:
        gateway.record(org, request_id)

    rule_pattern, provider_key = f"{marker}-RULE", f"sk-alpha-{uuid.uuid4().hex}Q7zX"
    with gateway.api(org) as api:
        prompt_id = document()["paths"]["/api/prompts"]["post"]["requestBody"]["content"][
            "application/json"
        ]["example"]["id"]  # the id B's create example uses: the ids collide on purpose
        prompt = {
            "id": prompt_id,
            "messages": [{"role": "user", "content": f"{marker} {{{{question}}}}"}],
            "labels": ["production"],
        }
        assert api.post("/api/prompts", json=prompt).status_code == 201
        rule = api.post("/api/redaction-rules", json={"kind": "pattern", "value": rule_pattern})
        assert rule.status_code == 201
        key = api.put("/api/provider-keys/openai", json={"key": provider_key})
        assert key.status_code == 200
        assert api.put("/api/data/retention", json={"days": 30}).status_code == 200
        credential = f"sk-ant-alpha-{uuid.uuid4().hex}K9vB"
        virtual = api.post(
            "/api/keys",
            json={"name": f"{marker} key", "credentials": {"anthropic": credential}},
        )
        assert virtual.status_code == 201, virtual.text
    made = [virtual.json()["data"]["id"], *create_examples(gateway, org)]
    virtual_secret = virtual.json()["key"]
    row_ids, dataset_ids = [], []
    with gateway.api(org) as api:
        for dataset in api.get("/api/datasets").json()["data"]:
            dataset_ids.append(dataset["id"])
            rows = api.get(f"/api/datasets/{dataset['id']}/rows").json()["data"]
            row_ids += [row["id"] for row in rows]
            experiment = api.post(
                "/api/experiments",
                json={
                    "name": f"{marker} experiment",
                    "dataset_id": dataset["id"],
                    "variants": [{"name": "mini", "model": "gpt-4o-mini"}],
                },
            )
            assert experiment.status_code == 201, experiment.text
            made.append(experiment.json()["data"]["id"])
    assert row_ids, "the datasets example made no rows of A's requests"
    return OrgA(
        org=org,
        marker=marker,
        user_id=user_id,
        session_id=session_id,
        property_name=property_name,
        request_ids=ids,
        cached_request={"headers": cached, "content": f"{marker} cached"},
        prompt_id=prompt_id,
        rule_id=rule.json()["data"]["id"],
        rule_pattern=rule_pattern,
        provider_key=provider_key,
        made=made,
        row_ids=row_ids,
        dataset_ids=dataset_ids,
        virtual_key_secrets=[virtual_secret, virtual_secret[:18], credential, credential[-4:]],
    )


def gateway_routes(tmp_path) -> list[tuple[str, str, str]]:
    """(surface, method, path) of every route of the API app and the dashboard app."""

    async def surfaces() -> dict[str, list[BaseRoute]]:
        async with build_gateway(Settings(data_dir=tmp_path)) as gateway:
            return {"api": list(gateway.api.routes), "dashboard": list(gateway.dashboard.routes)}

    found, unknown = [], []
    for surface, routes in asyncio.run(surfaces()).items():
        for route in routes:
            if isinstance(route, Route):
                methods = sorted((route.methods or {"GET"}) - {"HEAD"})
                found.extend(
                    (surface, method, route.path)
                    for method in methods
                    if (method, route.path) not in DASHBOARD_SESSION_ROUTES | ENDLESS_STREAMS
                )
            elif not isinstance(route, Mount) or route.path != "/dashboard/static":
                unknown.append(repr(route))
    assert not unknown, f"routes the sweep cannot enumerate: {unknown}"
    return found


def calls_for(
    surface: str,
    method: str,
    path: str,
    a: OrgA,
    unfillable: list[str],
    local: Callable[[Any], Any],
) -> list[Call]:
    """Every call of one route with A's values: each candidate per path parameter, and
    (for reads) each query parameter A has a value for."""
    fill = a.fill()
    names = PARAM.findall(path)
    missing = [name for name in names if name not in fill]
    if missing:
        unfillable.append(f"{method} {path} (path parameters {missing})")
        return []
    body, raw, form, base, queries = None, None, None, (), list(fill)
    if surface == "dashboard" and (method, path) in DASHBOARD_FORMS:
        form = DASHBOARD_FORMS[(method, path)](a)
    elif surface == "api":
        operation = document()["paths"].get(path, {}).get(method.lower())
        if operation is None:
            unfillable.append(f"{method} {path} (not in the OpenAPI description)")
            return []
        if "requestBody" in operation:
            content = operation["requestBody"]["content"]
            if "application/json" in content:
                body = local(content["application/json"]["example"])
            else:
                (media,) = content.values()
                raw = str(media["example"]).encode()
        documented = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
        queries = [name for name in fill if name in documented]
        if {"from", "to"} <= documented:
            base = WINDOW
    elif method != "GET":
        unfillable.append(f"{method} {path} (a dashboard form: teach the sweep to post it)")
        return []
    calls = []
    for values in itertools.product(*(fill[name] for name in names)):
        filled = path
        for value in values:
            filled = PARAM.sub(lambda _match, value=value: value, filled, count=1)
        sent = frozenset(values) | strings(body) | form_strings(form or ())
        calls.append(Call(surface, method, filled, base, body, sent, raw, form))
        if method == "GET":
            for name in queries:
                for value in fill[name]:
                    params = (*base, (name, value))
                    calls.append(Call(surface, method, filled, params, None, sent | {value}))
    return calls


DASHBOARD_FORMS: dict[tuple[str, str], Callable[[OrgA], tuple[tuple[str, str], ...]]] = {
    ("POST", "/dashboard/datasets/{id}/rows/{row_id}"): lambda a: (("expected", "from B"),),
    ("POST", "/dashboard/experiments"): lambda a: (
        ("name", "B's experiment"),
        ("dataset_id", a.dataset_ids[0]),
        ("name0", "mini"),
        ("model0", "gpt-4o-mini"),
    ),
    ("POST", "/dashboard/experiments/{id}/run"): lambda a: (("action", "start"),),
    ("POST", "/dashboard/evaluators"): lambda a: (
        ("name", "b-check"),
        ("kind", "contains"),
        ("config", '{"text": "hello"}'),
        ("sample_rate", "0"),
    ),
    ("POST", "/dashboard/evaluators/{id}/delete"): lambda a: (),
    ("POST", "/dashboard/evaluators/{id}/run"): lambda a: (("limit", "10"),),
    ("POST", "/dashboard/admin/rate-limits"): lambda a: (
        ("policy", "1;w=3600"),
        ("key_id", a.org.key_id),
    ),
    ("POST", "/dashboard/admin/alerts/rules"): lambda a: (
        (
            "json",
            orjson.dumps(
                {
                    "name": "B's rule",
                    "metric": "request_count",
                    "threshold": 0,
                    "window": "1h",
                    "channels": a.made[:5],
                }
            ).decode(),
        ),
    ),
    ("POST", "/dashboard/admin/alerts/channels"): lambda a: (
        ("json", '{"name": "b", "type": "slack", "url": "https://hooks.slack.com/services/b"}'),
    ),
    ("POST", "/dashboard/admin/webhooks"): lambda a: (
        ("url", "https://hooks.example.com/b"),
        ("secret", "b-secret-0123456789abcdef"),
    ),
    ("POST", "/dashboard/admin/keys"): lambda a: (("name", "b-key"), ("role", "proxy")),
    ("POST", "/dashboard/admin/keys/{id}/rotate"): lambda a: (("grace_seconds", "0"),),
    ("POST", "/dashboard/admin/keys/{id}/scopes"): lambda a: (("models", "b-*"),),
    ("POST", "/dashboard/admin/budgets"): lambda a: (
        ("level", "key"),
        ("target", a.org.key_id),
        ("usd_limit", "0.01"),
    ),
    ("POST", "/dashboard/admin/teams"): lambda a: (("name", "b-team"),),
    ("POST", "/dashboard/admin/teams/{id}/keys"): lambda a: (("key_id", a.org.key_id),),
    ("POST", "/dashboard/admin/teams/{id}/keys/{key_id}/delete"): lambda a: (),
    **{
        ("POST", f"/dashboard/admin/{kind}/{{id}}/delete"): lambda a: ()
        for kind in (
            "keys",
            "budgets",
            "teams",
            "rate-limits",
            "alerts/rules",
            "alerts/channels",
            "webhooks",
        )
    },
}
"""The dashboard's forms, as B fills them with A's ids."""


def form_strings(form: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """What a form sends, with the strings inside a field that holds JSON (an alert
    rule's definition names channel ids)."""
    found = strings(dict(form))
    for _name, value in form:
        try:
            found |= strings(orjson.loads(value))
        except orjson.JSONDecodeError:
            continue
    return found


def strings(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list):
        return frozenset().union(*(strings(item) for item in value))
    return frozenset()


def test_another_org_gets_nothing_and_changes_nothing(gateway, org_a, tmp_path):
    unfillable: list[str] = []
    calls = [
        call
        for surface, method, path in gateway_routes(tmp_path)
        for call in calls_for(surface, method, path, org_a, unfillable, gateway.local)
    ]
    assert not unfillable, (
        "routes the isolation sweep cannot call (add their parameters to OrgA.fill, and "
        "describe API routes with a body example in src/relayscope/api/openapi/): "
        + "; ".join(unfillable)
    )
    reads = [call for call in calls if call.method == "GET"]
    api_reads = [call for call in reads if call.surface == "api"]
    writes = [call for call in calls if call.method != "GET"]
    assert api_reads and writes
    assert any(call.surface == "dashboard" for call in reads)

    org_b, org_c = gateway.new_org(), gateway.new_org()
    a, b, c = (gateway.clients(org) for org in (org_a.org, org_b, org_c))
    try:
        # The secrets are there to be found: A's own page of a request shows them.
        own = a["dashboard"].get(f"/dashboard/requests/{org_a.request_ids[0]}")
        assert own.status_code == 200 and org_a.marker in own.text
        problems = []
        first = {}
        for call in reads:
            got = call.send(b)
            problems += check(got, call, org_a)
            if call.surface == "api":
                first[str(call)] = snapshot(got)
                fresh = call.send(c)
                if snapshot(got) != snapshot(fresh):
                    problems.append(
                        f"{call}: org B sees {got.text[:200]!r}, a fresh org {fresh.text[:200]!r}"
                    )
        # Non-interference: what A does must not show in B's answers (counters included).
        act_as(gateway, org_a)
        for call in api_reads:
            if snapshot(call.send(b)) != first[str(call)]:
                problems.append(f"{call}: org B's answer changed when org A made requests")

        before = {str(call): snapshot(call.send(a)) for call in api_reads}
        for call in writes:
            problems += check(call.send(b), call, org_a)
        for call in reads:
            if call.path not in ECHOES_THE_CALLER:
                problems += check(call.send(b), call, org_a)
        problems += not_only_own_changes(b["api"], org_b)
        after = {str(call): snapshot(call.send(a)) for call in api_reads}
    finally:
        for clients in (a, b, c):
            for client in clients.values():
                client.close()
    changed = [name for name in before if before[name] != after[name]]
    problems += [f"{name}: org A's answer changed after org B's calls" for name in changed]
    assert not problems, "\n".join(problems)

    act_as(gateway, org_a)  # A's cache entry survived B's deletions


def not_only_own_changes(api: httpx.Client, org: OrgKey) -> list[str]:
    """Entries of ``org``'s audit log that are not its own key's calls."""
    entries = api.get("/api/audit-log", params={"limit": "200"}).json()["data"]
    assert entries, "org B's writes were not recorded in its audit log"
    return [
        f"/api/audit-log: org B's log lists a call by key {e['actor']['key_id']}"
        for e in entries
        if e["actor"]["key_id"] != org.key_id
    ]


def act_as(gateway: Sweep, a: OrgA) -> None:
    """Org A answers from its cache and logs a new record."""
    hit = chat(gateway, a.cached_request["headers"], a.cached_request["content"])
    assert hit.headers["helicone-cache"] == "HIT"
    gateway.record(a.org, hit.headers["helicone-id"])


def check(response: httpx.Response, call: Call, a: OrgA) -> list[str]:
    problems = []
    if response.status_code >= 500:
        problems.append(f"{call}: {response.status_code} {response.text[:200]}")
    if response.headers.get("location", "").startswith("/dashboard/signin"):
        problems.append(f"{call}: the sweep's dashboard client is not signed in")
    found = {secret for secret in a.secrets() - call.sent if secret in response.text}
    if found:
        problems.append(f"{call}: answered org B with org A's {sorted(found)}")
    return problems


def snapshot(response: httpx.Response) -> tuple[int, str]:
    if response.request.url.path == "/api/keys" and response.is_success:
        # Every org has keys of its own (the caller's at least): compare their shape.
        keys = response.json()["data"]
        for key in keys:
            key.update(id="", prefix="", created_at="")
        return response.status_code, orjson.dumps(keys).decode()
    return response.status_code, response.text
