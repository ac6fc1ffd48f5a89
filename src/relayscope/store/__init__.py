"""Stores: config (orgs, keys) and request logs, behind one interface."""

from relayscope.store.base import (
    KeyInfo,
    Org,
    RequestFilter,
    Store,
    StoreUnavailable,
)
from relayscope.store.order import Page
from relayscope.store.sql import SqlStore, open_store

__all__ = [
    "KeyInfo",
    "Org",
    "Page",
    "RequestFilter",
    "SqlStore",
    "Store",
    "StoreUnavailable",
    "open_store",
]
