"""A logged request as a ``curl`` command that sends it through the gateway again.

The stored record holds the body and the ``Helicone-*`` tags, never the client's
credentials: the command reads the provider key and the gateway key from
environment variables, which the shell expands (they sit in double quotes; every
other word is single-quoted and taken literally).
"""

from __future__ import annotations

import shlex
from typing import Any

import orjson

from relayscope.dashboard.detail import shown_properties
from relayscope.record import LogRecord

_ANTHROPIC_VERSION = "2023-06-01"


def _provider_auth(provider: str) -> list[str]:
    if provider == "anthropic":
        return [
            '"x-api-key: $ANTHROPIC_API_KEY"',
            shlex.quote(f"anthropic-version: {_ANTHROPIC_VERSION}"),
        ]
    variable = "OPENAI_API_KEY" if provider == "openai" else "PROVIDER_API_KEY"
    return [f'"Authorization: Bearer ${variable}"']


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _variables(variables: dict[str, Any] | None) -> str | None:
    return None if variables is None else orjson.dumps(variables).decode()


def _tag_headers(record: LogRecord) -> list[str]:
    tags = [
        ("Helicone-User-Id", record.user_id),
        ("Helicone-Session-Id", record.session_id),
        ("Helicone-Session-Path", record.session_path),
        ("Helicone-Session-Name", record.session_name),
        ("Helicone-Request-Name", record.request_name),
    ]
    if record.prompt_id is not None:
        # Pinned to the version that served, so the command fills the same prompt.
        tags += [
            ("Helicone-Prompt-Id", record.prompt_id),
            ("Helicone-Prompt-Version", _text(record.prompt_version)),
            ("Helicone-Prompt-Variables", _variables(record.prompt_variables)),
        ]
    headers = [f"{name}: {value}" for name, value in tags if value is not None]
    # The name's copy among the properties is made again from Helicone-Request-Name.
    headers += [f"Helicone-Property-{n}: {v}" for n, v in shown_properties(record).items()]
    return [shlex.quote(h) for h in headers]


def as_curl(record: LogRecord, gateway_url: str) -> str:
    """The command, one header per line; a body the log did not keep whole is said so
    in a comment, since sending a cut one would not be the same request."""
    lines = [f"curl {shlex.quote(gateway_url.rstrip('/') + record.path)}"]
    headers = [
        shlex.quote("Content-Type: application/json"),
        *_provider_auth(record.provider),
        '"Helicone-Auth: Bearer $RELAYSCOPE_KEY"',
        *_tag_headers(record),
    ]
    lines += [f"-H {header}" for header in headers]
    note = None
    if record.request_body is None:
        note = "# The request body was not stored (Helicone-Omit-Request)."
    elif record.request_body_bytes is not None:
        note = f"# The stored body was cut from {record.request_body_bytes:,} bytes."
    else:
        lines.append(f"--data-binary {shlex.quote(record.request_body)}")
    command = " \\\n  ".join(lines)
    return f"{note}\n{command}" if note else command
