"""Runs experiments through the gateway's own proxy, a few requests at a time.

Each (row, variant) is one request to the proxy app in this process, made as the
org that started the run (``INTERNAL_PRINCIPAL``): it goes through every stage a
client's request does, so it is logged, priced, rate-limited and cached the same way.
A request that fails is recorded as that row's failure and the run goes on.

A run belongs to the process that started it. Cancelling (from any replica) sets the
status, which the workers read before each request; on this process the run's task is
also cancelled at once. A gateway that stops marks its unfinished runs interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import orjson

from relayscope.auth.keys import INTERNAL_PRINCIPAL, Principal
from relayscope.datasets.repository import DatasetRepository, Row
from relayscope.datasets.rows import output_text
from relayscope.experiments.calls import NoModel, call_for
from relayscope.experiments.repository import (
    CANCELLED,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    OK,
    RUNNING,
    Experiment,
    ExperimentRepository,
    Result,
)
from relayscope.experiments.variants import Variant
from relayscope.prompts.catalog import PromptCatalog
from relayscope.retry.provider_keys import ProviderKeys

log = logging.getLogger("relayscope.experiments")

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
REQUEST_TIMEOUT = 600.0
"""Seconds one experiment request may take end to end (the upstream's own timeouts
usually end it first)."""
MAX_ERROR = 2_000


class ExperimentRunner:
    def __init__(
        self,
        repository: ExperimentRepository,
        datasets: DatasetRepository,
        proxy: ASGIApp,
        *,
        prompts: PromptCatalog | None = None,
        provider_keys: ProviderKeys | None = None,
    ) -> None:
        self.repository = repository
        self.datasets = datasets
        self.proxy = proxy
        self.prompts = prompts
        self.provider_keys = provider_keys
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def running(self, org_id: str, experiment_id: str) -> bool:
        return (org_id, experiment_id) in self._tasks

    async def start(self, who: Principal, experiment: Experiment) -> None:
        """Run a draft in the background; the caller moved it to running."""
        key = (who.org_id, experiment.id)
        task = asyncio.create_task(self._run(who, experiment), name=f"experiment {experiment.id}")
        self._tasks[key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(key, None))

    async def cancel(self, org_id: str, experiment_id: str) -> bool:
        moved = await self.repository.move(org_id, experiment_id, frm=(RUNNING,), to=CANCELLED)
        task = self._tasks.get((org_id, experiment_id))
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return moved

    async def wait(self, org_id: str, experiment_id: str) -> None:
        """Until this process's run of the experiment ends (tests, the CLI)."""
        task = self._tasks.get((org_id, experiment_id))
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for org_id, experiment_id in tasks:
            await self.repository.move(org_id, experiment_id, frm=(RUNNING,), to=INTERRUPTED)

    async def _run(self, who: Principal, experiment: Experiment) -> None:
        rows = await self.datasets.rows(who.org_id, experiment.dataset_id)
        prompt_models = await self._prompt_models(who.org_id, experiment.variants)
        work: asyncio.Queue[tuple[Row, int]] = asyncio.Queue()
        for row in rows:
            for index in range(len(experiment.variants)):
                work.put_nowait((row, index))

        async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            await self.proxy({**scope, INTERNAL_PRINCIPAL: who}, receive, send)

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://relayscope.internal",
            timeout=REQUEST_TIMEOUT,
        ) as client:

            async def worker() -> None:
                while not work.empty():
                    row, index = work.get_nowait()
                    status = await self.repository.status(who.org_id, experiment.id)
                    if status != RUNNING:
                        return
                    variant = experiment.variants[index]
                    result = await self._one(
                        client, who, experiment.id, row, index, variant, prompt_models
                    )
                    await self.repository.record(who.org_id, experiment.id, result)

            workers = max(1, min(experiment.concurrency, experiment.total or 1))
            await asyncio.gather(*(worker() for _ in range(workers)))
        await self.repository.move(who.org_id, experiment.id, frm=(RUNNING,), to=COMPLETED)

    async def _prompt_models(self, org_id: str, variants: list[Variant]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for variant in variants:
            if variant.prompt_id is not None and variant.prompt_version is not None:
                version = (
                    await self.prompts.version(org_id, variant.prompt_id, variant.prompt_version)
                    if self.prompts is not None
                    else None
                )
                found[variant.name] = version.model if version is not None else None
        return found

    async def _one(
        self,
        client: httpx.AsyncClient,
        who: Principal,
        experiment_id: str,
        row: Row,
        index: int,
        variant: Variant,
        prompt_models: dict[str, str | None],
    ) -> Result:
        try:
            call = call_for(experiment_id, variant, row, prompt_models.get(variant.name))
        except NoModel as exc:
            return Result(row.id, index, FAILED, None, None, str(exc))
        headers = dict(call.headers)
        key = (
            await self.provider_keys.get(who.org_id, variant.provider)
            if self.provider_keys is not None
            else None
        )
        if key is not None:
            if variant.provider == "anthropic":
                headers["x-api-key"] = key
                headers["anthropic-version"] = "2023-06-01"
            else:
                headers["authorization"] = f"Bearer {key}"
        elif variant.provider == "anthropic":
            headers["anthropic-version"] = "2023-06-01"
        try:
            response = await client.post(call.path, json=call.body, headers=headers)
        except httpx.HTTPError as exc:
            return Result(row.id, index, FAILED, None, None, f"request failed: {exc}"[:MAX_ERROR])
        request_id = response.headers.get("helicone-id")
        body = _json(response.content)
        if response.status_code >= 400:
            return Result(
                row.id, index, FAILED, request_id, None, _error(response.status_code, body)
            )
        return Result(row.id, index, OK, request_id, output_text(body), None)


def _json(content: bytes) -> object:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _error(status: int, body: object) -> str:
    message = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
    return f"HTTP {status}: {message or 'no error message'}"[:MAX_ERROR]
