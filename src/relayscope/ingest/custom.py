"""Helicone's custom-logging body (``POST /custom/v1/log``), checked and read.

    {"providerRequest": {"url": str, "json": {...}, "meta": {"Helicone-...": str}},
     "providerResponse": {"json": {...} | "textBody": str, "status": int,
                          "headers": {str: str}},
     "timing": {"startTime": {"seconds", "milliseconds"}, "endTime": {...},
                "timeToFirstToken": ms}}

``meta`` holds the request's ``Helicone-*`` headers (user, session, properties, request
id), as Helicone reads it; the same headers on the HTTP request count too, ``meta``
winning. ``timing`` may be left out (Helicone's docs mark it optional): the record is
then timed at its arrival, with no latency. Fields Helicone does not define are
ignored, as Helicone does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

import orjson
from yarl import URL

from relayscope.context import Tags
from relayscope.errors import BadRequest, InvalidHeader
from relayscope.ids import random_uuid
from relayscope.ingest.records import External, text
from relayscope.providers.formats import body_format
from relayscope.providers.formats.fields import MODEL_MAX_LENGTH
from relayscope.providers.registry import Provider, ProviderRegistry
from relayscope.proxy.tags import client_request_id, parse_tags
from relayscope.proxy.urls import UnsafeUrl, origin_of

MAX_URL = 2048
MAX_META = 128
"""Entries ``meta`` may hold (Helicone headers and any others, which are ignored)."""
MAX_SECONDS = 253_402_300_799
"""The last second of year 9999: later times are no time a record can hold."""
CUSTOM = "custom"
"""The provider name of a call to a model the registry does not know."""
_REGISTRY = ProviderRegistry()


@dataclass(frozen=True, slots=True)
class Timing:
    started: datetime
    latency_ms: float
    ttft_ms: float | None


def parse(raw: bytes, headers: Mapping[str, str], provider: Provider | None) -> External:
    """What ``raw`` logs; ``headers`` are the HTTP request's (lower-case names), and
    ``provider`` the one the path named (``/oai/v1/log``), if any. BadRequest names
    the field at fault."""
    body = _object(_json(raw), "body")
    request = _object(_required(body, "providerRequest", ""), "providerRequest")
    response = _object(_required(body, "providerResponse", ""), "providerResponse")
    url = _required(request, "url", "providerRequest.")
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL or not url.isprintable():
        raise BadRequest(
            f"'providerRequest.url' must be a string of 1 to {MAX_URL} printable characters "
            "(Helicone's custom logs use 'custom-model-nopath')",
            param="providerRequest.url",
        )
    request_json = _object(_required(request, "json", "providerRequest."), "providerRequest.json")
    meta = _strings(request.get("meta", {}), "providerRequest.meta", MAX_META)
    status = _required(response, "status", "providerResponse.")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise BadRequest(
            "'providerResponse.status' must be an HTTP status code (100 to 599)",
            param="providerResponse.status",
        )
    _strings(response.get("headers", {}), "providerResponse.headers", MAX_META)
    response_body, stream = _response_body(response)
    timing = _timing(body.get("timing"))
    helicone = {k.lower(): v for k, v in headers.items() if k.lower().startswith("helicone-")}
    helicone.update({k.lower(): v for k, v in meta.items() if k.lower().startswith("helicone-")})
    helicone.pop("helicone-auth", None)
    tags, request_id = _tags(helicone, {k.lower() for k in meta})
    target, path = _provider(url, provider)
    fmt = target.format if target is not None else _guessed_format(response.get("json"))
    return External(
        request_id=request_id or random_uuid(),
        provider_name=target.name if target is not None else CUSTOM,
        format=body_format(fmt, "POST", path),
        pricing_id=target.pricing_id if target is not None else None,
        path=path,
        model=text(request_json.get("model"), MODEL_MAX_LENGTH),
        status=status,
        created_at=timing.started,
        latency_ms=timing.latency_ms,
        ttft_ms=timing.ttft_ms,
        request_body=orjson.dumps(request_json),
        response_body=response_body,
        stream=stream,
        tags=tags,
    )


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body must be a JSON object") from None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        what = "The request body" if name == "body" else f"'{name}'"
        raise BadRequest(f"{what} must be a JSON object", param=None if name == "body" else name)
    return value


def _required(body: dict[str, Any], field: str, prefix: str) -> Any:
    if field not in body:
        raise BadRequest(f"The body needs the field '{prefix}{field}'", param=f"{prefix}{field}")
    return body[field]


def _strings(value: Any, name: str, limit: int) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"'{name}' must be an object of strings", param=name)
    if len(value) > limit:
        raise BadRequest(f"'{name}' holds at most {limit} entries", param=name)
    return value


def _response_body(response: dict[str, Any]) -> tuple[bytes, bool]:
    """The response's bytes, and whether they are a stream's events (``textBody``
    holding what a streamed call sent, as Helicone's log builder logs it)."""
    if "json" in response and response["json"] is not None:
        return orjson.dumps(response["json"]), False
    body = response.get("textBody")
    if isinstance(body, str):
        return body.encode(), body.lstrip().startswith(("data:", "event:"))
    raise BadRequest(
        "'providerResponse' needs 'json' (the response as JSON) or 'textBody' (as text)",
        param="providerResponse.json",
    )


def _timing(value: Any) -> Timing:
    if value is None:
        return Timing(datetime.now(UTC), 0.0, None)
    timing = _object(value, "timing")
    start = _instant(timing, "startTime")
    end = _instant(timing, "endTime")
    if end < start:
        raise BadRequest("'timing.endTime' is before 'timing.startTime'", param="timing.endTime")
    ttft = timing.get("timeToFirstToken")
    if ttft is not None and not _number(ttft, 0, (end - start) * 1000 + 1):
        raise BadRequest(
            "'timing.timeToFirstToken' must be milliseconds from the start, within the call",
            param="timing.timeToFirstToken",
        )
    return Timing(datetime.fromtimestamp(start, UTC), (end - start) * 1000, ttft)


def _instant(timing: dict[str, Any], name: str) -> float:
    value = _object(_required(timing, name, "timing."), f"timing.{name}")
    seconds, millis = value.get("seconds"), value.get("milliseconds", 0)
    if not _number(seconds, 0, MAX_SECONDS) or not _number(millis, 0, 999.999):
        raise BadRequest(
            f'\'timing.{name}\' must be {{"seconds": Unix seconds, "milliseconds": 0 to 999}}',
            param=f"timing.{name}",
        )
    return float(seconds) + float(millis) / 1000


def _number(value: Any, low: float, high: float) -> TypeGuard[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and low <= value <= high


def _tags(helicone: dict[str, str], in_meta: set[str]) -> tuple[Tags, str | None]:
    try:
        return parse_tags(helicone), client_request_id(helicone)
    except InvalidHeader as exc:
        # The same checks as the proxy's headers: the message names the header, the
        # parameter where it was (``meta`` or the request's own headers).
        meta = exc.header.lower() in in_meta or exc.header == "Helicone-Property-*"
        param = f"providerRequest.meta.{exc.header}" if meta else exc.header
        raise BadRequest(exc.message, param=param) from None


def _provider(url: str, named: Provider | None) -> tuple[Provider | None, str]:
    """The provider the call went to, and its path below the provider's base."""
    found = _at(url)
    if found is not None:
        return found
    if url.startswith(("http://", "https://")):
        try:
            return named, URL(url).raw_path or "/"
        except ValueError:
            return named, url
    return named, url if url.startswith("/") or named is None else "/" + url


def _at(url: str) -> tuple[Provider, str] | None:
    if not url.startswith(("http://", "https://")):
        return None
    try:
        parsed = URL(url)
        origin = origin_of(parsed)
    except (ValueError, UnsafeUrl):
        return None
    if origin is None:
        return None
    provider = _REGISTRY.at(origin, parsed.raw_path)
    if provider is None:
        return None
    return provider, provider.path_below(url) or "/"


def _guessed_format(response: Any) -> str:
    """A custom model's replies are read as OpenAI's, unless shaped as Anthropic's."""
    if isinstance(response, dict) and response.get("type") == "message":
        return "anthropic"
    return "openai"
