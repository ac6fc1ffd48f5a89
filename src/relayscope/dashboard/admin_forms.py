"""What the admin forms send to the API: each turns a form's fields into the JSON body
of its API call, or a FormError the page shows before asking the API."""

from __future__ import annotations

import orjson


class FormError(Exception):
    """A form field the page can tell the user about before asking the API."""


def json_field(form: dict[str, str]) -> object:
    try:
        return orjson.loads(form.get("json", ""))
    except orjson.JSONDecodeError:
        raise FormError("The definition must be JSON") from None


def policy(form: dict[str, str]) -> object:
    key_id = form.get("key_id", "").strip()
    return {"policy": form.get("policy", ""), **({"key_id": key_id} if key_id else {})}


def webhook(form: dict[str, str]) -> object:
    return {
        "url": form.get("url", ""),
        "secret": form.get("secret", ""),
        "include_bodies": form.get("include_bodies") == "on",
    }


def budget(form: dict[str, str]) -> object:
    level = form.get("level", "")
    body: dict[str, object] = {
        "level": level,
        "period": form.get("period", "month"),
        "reset": form.get("reset", "calendar"),
    }
    target = form.get("target", "").strip()
    if target:
        body["target"] = target
    usd, tokens = form.get("usd_limit", "").strip(), form.get("token_limit", "").strip()
    if usd:
        try:
            body["usd_limit"] = float(usd)
        except ValueError:
            raise FormError("The dollar limit must be a number, such as 25 or 0.50") from None
    if tokens:
        try:
            body["token_limit"] = int(tokens.replace(",", ""))
        except ValueError:
            raise FormError("The token limit must be a whole number") from None
    return body


def _listed(form: dict[str, str], name: str) -> list[str]:
    """A comma- or line-separated field as a list (empty entries dropped)."""
    items = form.get(name, "").replace("\n", ",").split(",")
    return [item.strip() for item in items if item.strip()]


def scopes(form: dict[str, str]) -> object:
    return {"scopes": _scopes(form)}


def _scopes(form: dict[str, str]) -> dict[str, object]:
    """The key's scopes from the form; an empty field means no limit of that kind."""
    max_tokens = form.get("max_tokens", "").strip()
    chosen: dict[str, object] = {
        "providers": _listed(form, "providers"),
        "models": _listed(form, "models"),
        "ip_allowlist": _listed(form, "ip_allowlist"),
        "max_tokens": None,
    }
    if max_tokens:
        try:
            chosen["max_tokens"] = int(max_tokens.replace(",", ""))
        except ValueError:
            raise FormError("The token limit per request must be a whole number") from None
    return chosen


def new_key(form: dict[str, str]) -> object:
    body: dict[str, object] = {"role": form.get("role", "proxy"), "scopes": _scopes(form)}
    if form.get("name", "").strip():
        body["name"] = form["name"].strip()
    expires = form.get("expires_at", "").strip()
    if expires:
        # <input type="datetime-local"> has no zone: the page says it is UTC.
        body["expires_at"] = expires if expires.endswith("Z") or "+" in expires else expires + "Z"
    provider, secret = form.get("provider", "").strip(), form.get("credential", "").strip()
    if provider and secret:
        body["credentials"] = {provider: secret}
    elif secret:
        raise FormError("Choose the provider the stored key is for")
    return body


def rotation(form: dict[str, str]) -> object:
    grace = form.get("grace_seconds", "").strip()
    if not grace:
        return {}
    try:
        return {"grace_seconds": int(grace)}
    except ValueError:
        raise FormError("The grace period must be a whole number of seconds") from None
