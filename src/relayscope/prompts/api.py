"""``/api/prompts``: manage an org's prompts, versions and labels, and preview a fill.

Writes go through the process's ``PromptCatalog`` so the proxy sees them at once; reads
go to the store, so the API always shows the current state (CLI changes included).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api import params
from relayscope.api.auth import principal, reader
from relayscope.api.services import api_services, available
from relayscope.errors import BadRequest
from relayscope.prompts.assemble import assemble
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.errors import PromptNotFound
from relayscope.prompts.model import PromptSummary, PromptVersion
from relayscope.prompts.repository import Existence
from relayscope.prompts.spec import (
    SpecError,
    VersionSpec,
    check_label,
    check_prompt_id,
    check_selector,
    parse_prompt,
    parse_version,
)
from relayscope.prompts.template import MissingVariables

_FORMATS = ("openai", "anthropic")


def routes() -> list[Route]:
    return [
        Route("/api/prompts", list_prompts, methods=["GET"]),
        Route("/api/prompts", create_prompt, methods=["POST"]),
        Route("/api/prompts/{id}", get_prompt, methods=["GET"]),
        Route("/api/prompts/{id}/versions", list_versions, methods=["GET"]),
        Route("/api/prompts/{id}/versions", create_version, methods=["POST"]),
        Route("/api/prompts/{id}/labels/{label}", put_label, methods=["PUT"]),
        Route("/api/prompts/{id}/render", render, methods=["POST"]),
    ]


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def _catalog(request: Request) -> PromptCatalog:
    return available(api_services(request).prompts, "Prompts")


def _invalid(exc: SpecError) -> BadRequest:
    return BadRequest(f"Invalid field '{exc.field}': {exc.problem}", param=exc.field)


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("Request body must be JSON", param="body") from None


def _path_id(request: Request) -> str:
    try:
        return check_prompt_id(request.path_params["id"])
    except SpecError as exc:
        raise _invalid(exc) from None


def _selector(value: Any, where: str) -> int | str | None:
    """A version number, a label name, or None (the default version)."""
    if value is None:
        return None
    try:
        return check_selector(value, where)
    except SpecError as exc:
        raise _invalid(exc) from None


async def _summary(request: Request, org_id: str, prompt_id: str) -> PromptSummary:
    summary = await _catalog(request).repository.get_prompt(org_id, prompt_id)
    if summary is None:
        raise PromptNotFound(prompt_id, param="id")
    return summary


def _prompt_json(summary: PromptSummary, version: PromptVersion) -> dict[str, Any]:
    return {**summary.to_json(), "version": version.to_json(summary.labels_of(version.version))}


async def list_prompts(request: Request) -> Response:
    who = await principal(request)
    params.reject_unknown(request.query_params, set())
    found = await _catalog(request).repository.list_prompts(who.org_id)
    return _json({"data": [summary.to_json() for summary in found]})


async def create_prompt(request: Request) -> Response:
    who = await principal(request)
    try:
        spec = parse_prompt(await _body(request))
    except SpecError as exc:
        raise _invalid(exc) from None
    return await _add(request, who.org_id, who.key_id, spec.id, spec.version, spec.labels, "new")


async def create_version(request: Request) -> Response:
    who = await principal(request)
    prompt_id = _path_id(request)
    doc = await _body(request)
    try:
        spec = parse_version(doc, extra=frozenset({"labels"}))
        labels = _labels(doc.get("labels"))
    except SpecError as exc:
        raise _invalid(exc) from None
    return await _add(request, who.org_id, who.key_id, prompt_id, spec, labels, "existing")


def _labels(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError("labels", "must be a list of label names")
    return tuple(check_label(label, f"labels[{i}]") for i, label in enumerate(value))


async def _add(
    request: Request,
    org_id: str,
    key_id: str,
    prompt_id: str,
    spec: VersionSpec,
    labels: tuple[str, ...],
    existence: Existence,
) -> Response:
    catalog = _catalog(request)
    author = f"key:{key_id}"
    version, _ = await catalog.add_version(
        org_id, prompt_id, spec, created_by=author, existence=existence
    )
    for label in labels:
        await catalog.set_label(org_id, prompt_id, label, version.version, updated_by=author)
    summary = await _summary(request, org_id, prompt_id)
    return _json({"data": _prompt_json(summary, version)}, 201)


async def get_prompt(request: Request) -> Response:
    who = await principal(request)
    prompt_id = _path_id(request)
    params.reject_unknown(request.query_params, {"version"})
    selector = _selector(request.query_params.get("version"), "version")
    summary, version = await _catalog(request).repository.resolve(
        who.org_id, prompt_id, selector, id_param="id", version_param="version"
    )
    return _json({"data": _prompt_json(summary, version)})


async def list_versions(request: Request) -> Response:
    who = await principal(request)
    prompt_id = _path_id(request)
    params.reject_unknown(request.query_params, set())
    summary = await _summary(request, who.org_id, prompt_id)
    versions = await _catalog(request).repository.list_versions(who.org_id, prompt_id)
    return _json({"data": [v.to_json(summary.labels_of(v.version)) for v in versions]})


async def put_label(request: Request) -> Response:
    who = await principal(request)
    prompt_id = _path_id(request)
    try:
        label = check_label(request.path_params["label"])
    except SpecError as exc:
        raise _invalid(exc) from None
    doc = await _body(request)
    if not isinstance(doc, Mapping):
        raise BadRequest("Request body must be a JSON object", param="body")
    unknown = set(doc) - {"version"}
    if unknown:
        raise BadRequest(f"Invalid field '{min(unknown)}': unknown field", param=min(unknown))
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadRequest("Invalid field 'version': must be a version number", param="version")
    try:
        check_selector(version)
    except SpecError as exc:
        raise _invalid(exc) from None
    await _catalog(request).set_label(
        who.org_id, prompt_id, label, version, updated_by=f"key:{who.key_id}"
    )
    return _json({"data": {"prompt_id": prompt_id, "label": label, "version": version}})


async def render(request: Request) -> Response:
    """The filled template, as the proxy fills it, without calling a provider."""
    who = await reader(request)
    prompt_id = _path_id(request)
    doc = await _body(request)
    if not isinstance(doc, Mapping):
        raise BadRequest("Request body must be a JSON object", param="body")
    unknown = set(doc) - {"version", "variables", "format"}
    if unknown:
        raise BadRequest(f"Invalid field '{min(unknown)}': unknown field", param=min(unknown))
    variables = doc.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise BadRequest("Invalid field 'variables': must be an object", param="variables")
    fmt = doc.get("format")
    if fmt is not None and fmt not in _FORMATS:
        raise BadRequest("Invalid field 'format': must be 'openai' or 'anthropic'", param="format")
    _, version = await _catalog(request).repository.resolve(
        who.org_id,
        prompt_id,
        _selector(doc.get("version"), "version"),
        id_param="id",
        version_param="version",
    )
    try:
        filled = version.template.fill(variables)
    except MissingVariables as exc:
        names = ", ".join(repr(name) for name in exc.names)
        raise BadRequest(
            f"Invalid field 'variables': missing {names} required by prompt {prompt_id!r}",
            param="variables",
            code="missing_prompt_variable",
        ) from None
    data: dict[str, Any] = {
        "prompt_id": prompt_id,
        "version": version.version,
        "messages": filled.messages,
        "system": filled.system,
        "model": version.model,
        "parameters": dict(version.parameters),
    }
    if fmt is not None:
        data["body"] = assemble({}, version, filled, fmt)
    return _json({"data": data})
