"""Scores and feedback on a request, at Helicone's paths and under ``/api``.

``POST /v1/request/{id}/score``     ``{"scores": {"<name>": number | boolean}}``
``POST /v1/request/{id}/feedback``  ``{"rating": true | false}``
    Helicone's shapes: 200 ``{"data": null, "error": null}``.
``POST /api/requests/{id}/score``, ``POST /api/requests/{id}/feedback``
    The same bodies; 200 ``{"data": {"scores", "feedback"}}``, the request's scores
    after the change.

Any key of the org may post them, a proxy key included: scoring a response is what
an application does after the request. A request of another org is a 404, as is an
id the org never used. A record is written a moment after its response (the log
writer batches), so an id not stored yet is waited for (``wait_for_record``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import reader
from relayscope.api.requests import json_response
from relayscope.api.services import api_services
from relayscope.errors import NotFound
from relayscope.logs.writer import LogWriter
from relayscope.scores import body
from relayscope.store import scores
from relayscope.store.scores import ScoreValue

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
"""Every request id the gateway stores has this form (``proxy.tags.client_request_id``);
an id without it is looked up once, never waited for."""
POLL_INTERVAL = 0.05
"""Seconds between looks at the store while waiting for another replica's record."""


def record_wait(writer: LogWriter | None) -> float:
    """How long an id not stored yet is waited for: two of the writers' flush intervals
    and a second for the write itself, which covers a record another replica (with the
    same settings) has queued but not written yet."""
    flush = writer.flush_interval if writer is not None else 0.25
    return 2 * flush + 1.0


async def wait_for_record(request: Request, org_id: str, request_id: str) -> bool:
    """Whether the org's request ``request_id`` is stored, waiting ``record_wait`` for it.

    This process's own records are flushed at once (``LogWriter.drain``): a client
    that scores right after its response finds its record without a wait. A record
    another replica proxied is looked for until the wait ends.
    """
    writer = api_services(request).writer
    if await _stored(request, org_id, request_id):
        return True
    if not _UUID.fullmatch(request_id):
        return False
    deadline = time.monotonic() + record_wait(writer)
    if writer is not None and writer.queue_depth:
        with contextlib.suppress(TimeoutError):
            await writer.drain(timeout=max(0.0, deadline - time.monotonic()))
        if await _stored(request, org_id, request_id):
            return True
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_INTERVAL)
        if await _stored(request, org_id, request_id):
            return True
    return False


async def _stored(request: Request, org_id: str, request_id: str) -> bool:
    services = api_services(request)
    if services.logs is services.store:
        return await scores.request_stored(services.store.database, org_id, request_id)
    return await services.logs.get_request(org_id, request_id) is not None


def canonical_id(request_id: str) -> str:
    """A UUID as the gateway stores it (lower case), whatever case the client wrote."""
    return str(uuid.UUID(request_id)) if _UUID.fullmatch(request_id) else request_id


Parse = Callable[[bytes], dict[str, ScoreValue]]


def _feedback(raw: bytes) -> dict[str, ScoreValue]:
    return {scores.FEEDBACK: body.rating(raw)}


async def _save(request: Request, parse: Parse) -> tuple[str, str]:
    """Store what ``parse`` reads from the body on the caller's request named in the
    path (the key first, then the body, then the record); returns (org, request id)."""
    who = await reader(request)
    values = parse(await request.body())
    request_id = canonical_id(request.path_params["id"])
    if not await wait_for_record(request, who.org_id, request_id):
        raise NotFound(f"No request with id {request_id!r}")
    services = api_services(request)
    await scores.save(services.store.database, who.org_id, request_id, values, logs=services.logs)
    return who.org_id, request_id


def _helicone(parse: Parse) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await _save(request, parse)
        return json_response({"data": None, "error": None})

    return endpoint


def _api(parse: Parse) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        org_id, request_id = await _save(request, parse)
        held = await scores.of_request(api_services(request).store.database, org_id, request_id)
        return json_response({"data": scores.scores_json(held)})

    return endpoint


HELICONE_PREFIX = "/v1/request/"
"""Helicone's request API: the gateway sends these paths to the API, not upstream."""

routes = [
    Route("/v1/request/{id}/score", _helicone(body.scores), methods=["POST"]),
    Route("/v1/request/{id}/feedback", _helicone(_feedback), methods=["POST"]),
    Route("/api/requests/{id}/score", _api(body.scores), methods=["POST"]),
    Route("/api/requests/{id}/feedback", _api(_feedback), methods=["POST"]),
]
