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
