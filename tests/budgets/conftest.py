"""An in-process gateway whose alerts may reach a local receiver, and helpers to set
budgets through the API and read the counters the budget stage enforces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import openai
import pytest

from relayscope.budgets.model import Spend
from relayscope.budgets.stage import BudgetStage, counter_of
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env
from relayscope.testing.receiver import WebhookReceiver
from relayscope.testing.stores import StoreUrls


@pytest.fixture(scope="module")
def budget_gateway(
    tmp_path_factory: pytest.TempPathFactory, store_urls: StoreUrls, fake_server: FakeProvider
) -> Iterator[AsgiGateway]:
    data_dir = tmp_path_factory.mktemp("budgets")
    url = store_urls.new(data_dir)
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": url,
        "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RELAYSCOPE_ALERTS_DELIVERY_ATTEMPTS": "1",
    }
    with AsgiGateway(data_dir, env) as gateway:
        yield gateway
    store_urls.discard(url)


@pytest.fixture
def owner(budget_gateway: AsgiGateway) -> OrgKey:
    """A new org and its admin key."""
    return budget_gateway.new_org()


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def stage_of(gateway: AsgiGateway) -> BudgetStage:
    return next(s for s in gateway.gateway.stages if isinstance(s, BudgetStage))


def create_budget(gateway: AsgiGateway, org: OrgKey, **fields: Any) -> dict[str, Any]:
    with gateway.api(org) as api:
        response = api.post("/api/budgets", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def counted(gateway: AsgiGateway, budget_id: str) -> Spend:
    """What the stage's counter of ``budget_id`` holds for the current period."""
    stage = stage_of(gateway)

    async def read() -> Spend:
        found = await stage.book.refresh()
        (budget,) = [b for items in found.by_org.values() for b in items if b.id == budget_id]
        (spend,) = await stage.counters.read([counter_of(budget, datetime.now(UTC))])
        return spend

    return gateway.run(read())


def openai_client(gateway: AsgiGateway, org: OrgKey, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-provider",
        default_headers={**org.auth, **headers},
        http_client=gateway.sdk_http(),
        max_retries=0,
    )
