"""Each proxied request's id, and its log record's own identity.

A client may choose the id (``Helicone-Request-Id``). One it already used in its
org is replaced by a new UUID, with a ``Helicone-Warning`` naming both (or, with
strict headers, refused with a 409 before anything is proxied). This process
remembers the ids clients chose recently, in memory: no store round trip on the
hot path. Repeats it cannot see (another process, after a restart, or older than
it remembers) are caught by the store when the record is written
(``store.base.settle_ids``): the record gets a new id and keeps the warning.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from relayscope.errors import DuplicateRequestId
from relayscope.ids import random_uuid

REMEMBERED = 100_000
"""Client-chosen ids remembered per process (about 25 MB at most)."""


class AssignedId(NamedTuple):
    request_id: str
    record_uid: str | None
    """The record's own identity (``LogRecord.record_uid``) when the gateway made the
    id (the id is then its own); None: made when the record is built, off the loop."""
    replaced: str | None = None
    """The client's id, when it was already used and ``request_id`` replaces it."""


class RequestIds:
    def __init__(self, *, strict: bool = False, remembered: int = REMEMBERED) -> None:
        self.strict = strict
        self.remembered = remembered
        self._recent: OrderedDict[tuple[str, str], None] = OrderedDict()

    def assign(self, org_id: str, chosen: str | None) -> AssignedId:
        """The ids of a request of ``org_id`` that sent ``chosen`` (None: it sent none).

        Call it only once the request will be proxied (and logged): an id refused
        for another reason was not used.
        """
        if chosen is None:
            fresh = random_uuid()
            return AssignedId(fresh, fresh)
        key = (org_id, chosen)
        if key not in self._recent:
            self._recent[key] = None
            if len(self._recent) > self.remembered:
                self._recent.popitem(last=False)
            return AssignedId(chosen, None)
        if self.strict:
            raise DuplicateRequestId(chosen)
        fresh = random_uuid()
        return AssignedId(fresh, fresh, replaced=chosen)
