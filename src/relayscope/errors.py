"""Errors the gateway answers with, all rendered as OpenAI-style JSON.

    GatewayError                      (500 internal_error)
     ├── BadRequest                   (400 invalid_request_error)
     │    └── InvalidHeader           (400, names the header)
     ├── RequestTimeout               (408)
     ├── PayloadTooLarge              (413)
     ├── HeadersTooLarge              (431)
     ├── Unauthorized                 (401 authentication_error)
     ├── Forbidden                    (403 permission_error)
     ├── NotFound                     (404)
     ├── Conflict                     (409)
     │    └── DuplicateRequestId      (409, a reused Helicone-Request-Id, strict headers)
     ├── RateLimited                  (429, Retry-After)
     │    └── BudgetExceeded          (429 insufficient_quota, a spent budget)
     ├── ServiceUnavailable           (503)
     └── UpstreamError                (502 upstream_error)
          └── UpstreamTimeout         (504)

Provider errors are not GatewayErrors: they are passed through exactly as sent.
``error_response`` is the one place where an error becomes HTTP.

What the gateway accepts but does not take exactly as sent is answered with a
``Helicone-Warning`` response header instead (``helicone_warning``), also kept
on the request's log record (``Context.warn`` does both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

WARNING_HEADER = b"helicone-warning"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def helicone_warning(header: str, problem: str) -> str:
    """A ``Helicone-Warning`` value: the request header at issue, then what was done.

    Plain ASCII on one line, whatever ``problem`` quotes, so it is a valid header value.
    """
    text = _CONTROL.sub(" ", f"{header}: {problem}")
    return text.encode("ascii", "replace").decode("ascii")


def reused_id_problem(reused: str, replacement: str) -> str:
    """Why a request was logged under ``replacement`` instead of the id it sent."""
    return (
        f"{reused} was already used by another request of this org; "
        f"this request is logged as {replacement}"
    )


class GatewayError(Exception):
    status = 500
    type = "internal_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> bytes:
        error: dict[str, object] = {"message": self.message, "type": self.type, "code": self.code}
        if self.param is not None:
            error["param"] = self.param
        return orjson.dumps({"error": error})


class BadRequest(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class InvalidHeader(BadRequest):
    code = "invalid_header"

    def __init__(self, header: str, problem: str, **kwargs: object) -> None:
        super().__init__(f"Invalid {header} header: {problem}", param=header, **kwargs)  # type: ignore[arg-type]
        self.header = header


class RequestTimeout(GatewayError):
    status = 408
    type = "invalid_request_error"
    code = "request_timeout"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class HeadersTooLarge(GatewayError):
    status = 431
    type = "invalid_request_error"
    code = "headers_too_large"


class Unauthorized(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(GatewayError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(GatewayError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class Conflict(GatewayError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class DuplicateRequestId(Conflict):
    """A ``Helicone-Request-Id`` this org already used, refused (strict headers)."""

    code = "duplicate_request_id"

    def __init__(self, reused: str) -> None:
        super().__init__(
            f"Helicone-Request-Id {reused} was already used by another request of this org; "
            "send a new id (nothing was proxied)",
            param="Helicone-Request-Id",
            # The OpenAI SDKs retry a 409 with the same headers, which can only conflict again.
            headers={"x-should-retry": "false"},
        )


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"


class BudgetExceeded(RateLimited):
    """A budget the request falls under is spent until its period resets."""

    type = "insufficient_quota"
    code = "budget_exceeded"


class ServiceUnavailable(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "service_unavailable"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


def error_response(error: GatewayError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body for ``error``."""
    body = error.body()
    headers = [(b"content-type", b"application/json")]
    headers.extend((k.lower().encode(), v.encode()) for k, v in error.headers.items())
    return error.status, headers, body
