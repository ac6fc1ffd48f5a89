"""Gateway API keys: minting, hashing, and resolving a key to its org."""

from relayscope.auth.keys import (
    ADMIN,
    PROXY,
    KeyResolver,
    Principal,
    hash_key,
    new_key,
    parse_bearer,
)

__all__ = ["ADMIN", "PROXY", "KeyResolver", "Principal", "hash_key", "new_key", "parse_bearer"]
