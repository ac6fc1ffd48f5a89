"""The audit log's operation."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    INTEGER,
    STRING,
    TIMESTAMP,
    Schema,
    answer,
    nullable,
    obj,
    operation,
    query,
)

AUDIT_ENTRY = obj(
    {
        "id": STRING,
        "at": TIMESTAMP,
        "actor": obj(
            {"key_id": STRING, "name": nullable(STRING), "role": {"enum": ["admin", "proxy"]}}
        ),
        "via": {"enum": ["api", "dashboard"]},
        "client": nullable(STRING),
        "method": STRING,
        "path": STRING,
        "status": INTEGER,
        "outcome": {"enum": ["changed", "refused", "failed"]},
        "detail": {
            "description": "The request body, with every key, secret and token masked and "
            "URLs cut to their origin; a note instead when it was not JSON or too large.",
        },
    }
)

AUDIT_PATHS: dict[str, dict[str, Schema]] = {
    "/api/audit-log": {
        "get": operation(
            "The org's admin changes, newest first",
            answer(
                "A page of changes; `next` is the cursor of the older page (null at the end).",
                obj({"data": {"type": "array", "items": AUDIT_ENTRY}, "next": nullable(STRING)}),
            ),
            errors=(400,),
            params=[
                query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "At most (50)."),
                query("before", STRING, "The `next` cursor of the previous page."),
            ],
            admin=True,
            tag="audit",
            description="Every call that changed, or tried to change, the org's "
            "configuration through the API or a dashboard form: who (the key), when, what "
            "it sent, and how it ended.",
        )
    }
}
