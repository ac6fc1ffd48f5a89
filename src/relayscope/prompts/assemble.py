"""From a filled template and the client's body to the body sent upstream.

Stored prompt: the version's ``parameters`` and ``model`` are defaults, the client's
own fields override them, and the client's ``messages`` are appended after the
template's (a conversation continues a prompt). The template is written for either
wire format: for Anthropic, ``system``-role messages move to the top-level
``system``; for OpenAI, a template ``system`` becomes the first message.

Inline template: the client's messages up to the last one holding a placeholder
(and its ``system``) are the template; the messages after it are the conversation.
"""

from __future__ import annotations

from typing import Any

from relayscope.errors import BadRequest
from relayscope.prompts.model import PromptVersion
from relayscope.prompts.spec import SpecError, parse_template
from relayscope.prompts.template import (
    System,
    Template,
    message_has_placeholder,
    system_has_placeholder,
)
from relayscope.providers.registry import Format

_SYSTEM_ROLES = ("system", "developer")


def request_messages(body: dict[str, Any]) -> list[Any]:
    messages = body.get("messages")
    if messages is None:
        return []
    if not isinstance(messages, list):
        raise BadRequest("Invalid request body field 'messages': must be a list", param="messages")
    return messages


def inline_template(body: dict[str, Any]) -> tuple[Template, list[Any]] | None:
    """The template the client's own messages hold, and the messages after it."""
    messages = request_messages(body)
    system = body.get("system")
    last = -1
    for index, message in enumerate(messages):
        if message_has_placeholder(message):
            last = index
    if last < 0 and not system_has_placeholder(system):
        return None
    try:
        template = parse_template(messages[: last + 1], system)
    except SpecError as exc:
        raise BadRequest(
            f"Invalid request body field '{exc.field}': {exc.problem}", param=exc.field
        ) from None
    return template, messages[last + 1 :]


def apply_inline(body: dict[str, Any], filled: Template, tail: list[Any]) -> dict[str, Any]:
    out = {**body, "messages": [*filled.messages, *tail]}
    if filled.system is not None:
        out["system"] = filled.system
    return out


def assemble(
    body: dict[str, Any], version: PromptVersion, filled: Template, fmt: Format
) -> dict[str, Any]:
    """The upstream body for a stored prompt version."""
    appended = request_messages(body)
    out: dict[str, Any] = dict(version.parameters)
    if version.model is not None:
        out["model"] = version.model
    out.update(body)
    if fmt == "anthropic":
        lifted = [m for m in filled.messages if _is_system(m)]
        kept = [m for m in filled.messages if not _is_system(m)]
        system = _join_system(
            [filled.system, *(m.get("content") for m in lifted), body.get("system")]
        )
        if system is not None:
            out["system"] = system
        out["messages"] = [*kept, *appended]
    else:
        first = []
        if filled.system is not None:
            first = [{"role": "system", "content": _openai_content(filled.system)}]
        out["messages"] = [*first, *filled.messages, *appended]
    return out


def _is_system(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") in _SYSTEM_ROLES


def _join_system(sources: list[System]) -> System:
    present = [s for s in sources if s is not None and s != []]
    if not present:
        return None
    if len(present) == 1 and isinstance(present[0], str):
        return present[0]
    blocks: list[Any] = []
    for source in present:
        if isinstance(source, str):
            blocks.append({"type": "text", "text": source})
        else:
            blocks.extend(p for p in source if isinstance(p, dict) and p.get("type") == "text")
    return blocks


def _openai_content(system: System) -> Any:
    if isinstance(system, list):
        return [
            {"type": "text", "text": p["text"]}
            for p in system
            if isinstance(p, dict) and p.get("type") == "text"
        ]
    return system
