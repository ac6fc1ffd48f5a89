"""Operations of ``/api/keys``: gateway keys with scopes, credentials and rotation."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    CLOSED,
    INTEGER,
    NULLABLE_TIME,
    STRING,
    TIMESTAMP,
    Schema,
    answer,
    data,
    nullable,
    obj,
    operation,
    path,
)
from relayscope.auth.keys import ROLES
from relayscope.providers.registry import PROVIDERS
from relayscope.virtualkeys.spec import (
    MAX_GRACE_SECONDS,
    MAX_NAME_CHARS,
    MAX_PATTERN_CHARS,
    MAX_PATTERNS,
)

TAG = "keys"
PATTERNS: Schema = {
    "type": "array",
    "maxItems": MAX_PATTERNS,
    "items": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN_CHARS},
}
SCOPES: Schema = obj(
    {},
    {
        "providers": {
            **PATTERNS,
            "description": "Provider names (globs) the key may call; empty: any.",
        },
        "models": {**PATTERNS, "description": "Models (globs, e.g. `gpt-4o*`); empty: any."},
        "max_tokens": {
            **nullable({"type": "integer", "minimum": 1}),
            "description": "Most tokens a request may ask for in max_tokens, "
            "max_completion_tokens or max_output_tokens.",
        },
        "ip_allowlist": {
            **PATTERNS,
            "description": "Client addresses or CIDR blocks the key may be used from; empty: any.",
        },
    },
    **CLOSED,
)
PROVIDER_NAME: Schema = {"type": "string", "enum": [p.name for p in PROVIDERS]}
SECRET: Schema = {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": r"^\S+$"}
KEY: Schema = obj(
    {
        "id": STRING,
        "prefix": {**STRING, "description": "The secret's first characters."},
        "name": nullable(STRING),
        "role": {"type": "string", "enum": list(ROLES)},
        "created_at": TIMESTAMP,
        "revoked_at": NULLABLE_TIME,
        "expires_at": NULLABLE_TIME,
        "scopes": SCOPES,
        "metadata": {"type": "object"},
        "credentials": {
            "type": "array",
            "items": obj({"provider": STRING, "last4": STRING, "created_at": TIMESTAMP}),
            "description": "Providers the key holds a credential for (never the credential).",
        },
        "previous_valid_until": {
            **NULLABLE_TIME,
            "description": "After a rotation: when the previous secret stops working.",
        },
    }
)
WITH_SECRET: Schema = obj(
    {"data": KEY, "key": {**STRING, "description": "The new secret, shown only now."}}
)
SETTINGS: dict[str, Schema] = {
    "name": nullable({"type": "string", "maxLength": MAX_NAME_CHARS}),
    "expires_at": nullable(TIMESTAMP),
    "scopes": SCOPES,
    "metadata": {"type": "object", "description": "Free-form JSON, at most 16 KiB."},
}
KEY_ID = [path("id", STRING, "Key id.")]

KEY_PATHS: dict[str, Schema] = {
    "/api/keys": {
        "get": operation(
            "The org's gateway keys, with their scopes (never secrets or credentials)",
            answer(
                "Keys, oldest first, revoked ones included.", data({"type": "array", "items": KEY})
            ),
            admin=True,
            tag=TAG,
        ),
        "post": operation(
            "Create a gateway key, maybe a virtual key holding provider credentials",
            answer("The key, and its secret (shown once).", WITH_SECRET),
            status=201,
            body=obj(
                {},
                {
                    **SETTINGS,
                    "role": {"type": "string", "enum": list(ROLES)},
                    "credentials": {
                        "type": "object",
                        "propertyNames": PROVIDER_NAME,
                        "additionalProperties": SECRET,
                    },
                },
                **CLOSED,
            ),
            example={
                "name": "support-bot",
                "expires_at": "2030-01-01T00:00:00Z",
                "scopes": {
                    "providers": ["openai"],
                    "models": ["gpt-4o-mini*"],
                    "max_tokens": 1024,
                    "ip_allowlist": ["10.0.0.0/8"],
                },
                "metadata": {"team": "support"},
                "credentials": {"openai": "sk-proj-your-openai-key"},
            },
            admin=True,
            tag=TAG,
        ),
    },
    "/api/keys/{id}": {
        "get": operation(
            "One gateway key of the org",
            answer("The key.", data(KEY)),
            errors=(404,),
            params=KEY_ID,
            admin=True,
            tag=TAG,
        ),
        "patch": operation(
            "Change a key's name, expiry, scopes, metadata or credentials",
            answer("The key as changed.", data(KEY)),
            errors=(404,),
            params=KEY_ID,
            body=obj(
                {},
                {
                    **SETTINGS,
                    "credentials": {
                        "type": "object",
                        "propertyNames": PROVIDER_NAME,
                        "additionalProperties": nullable(SECRET),
                        "description": "Credentials to set; null removes one; others are kept.",
                    },
                },
                **CLOSED,
            ),
            example={"scopes": {"models": ["gpt-4o*"]}, "credentials": {"anthropic": None}},
            admin=True,
            tag=TAG,
        ),
        "delete": operation(
            "Revoke a key (all its secrets stop working)",
            answer("Revoked.", obj({"revoked": STRING})),
            errors=(404,),
            params=KEY_ID,
            admin=True,
            tag=TAG,
        ),
    },
    "/api/keys/{id}/rotate": {
        "post": operation(
            "Give a key a new secret; the current one keeps working for the grace period",
            answer("The key, and its new secret (shown once).", WITH_SECRET),
            errors=(404,),
            params=KEY_ID,
            body=obj(
                {},
                {"grace_seconds": {**INTEGER, "minimum": 0, "maximum": MAX_GRACE_SECONDS}},
                **CLOSED,
            ),
            example={"grace_seconds": 3600},
            admin=True,
            tag=TAG,
        )
    },
}
