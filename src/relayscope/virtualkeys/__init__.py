"""Virtual keys: gateway keys that hold provider credentials, with scopes, an expiry,
an IP allowlist, metadata and rotation with a grace period."""
