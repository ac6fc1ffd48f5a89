"""Taking a store down for a gateway and bringing it back, the way each backend fails.

SQLite is locked by another writer (every write waits, then fails); Postgres goes
away: the gateway reaches it through a TCP relay that is cut and restored.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url

from relayscope.testing.tcp_proxy import TcpProxy


class Outage:
    """Takes the store down for the gateway (``down``) and brings it back (``up``).

    ``gateway_url`` is the URL to give the gateway; ``store_url`` reads the store
    directly, outage or not.
    """

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.gateway_url = store_url
        self._lock: sqlite3.Connection | None = None
        self._relay: TcpProxy | None = None
        if not store_url.startswith("sqlite"):
            url = make_url(store_url)
            self._relay = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
            relayed = url.set(host="127.0.0.1", port=self._relay.port)
            self.gateway_url = relayed.render_as_string(hide_password=False)

    def down(self) -> None:
        if self._relay is not None:
            self._relay.stop()
        else:
            self._lock = sqlite3.connect(self.store_url.removeprefix("sqlite:///"))
            self._lock.isolation_level = None
            self._lock.execute("BEGIN EXCLUSIVE")  # every write waits, then fails

    def up(self) -> None:
        if self._relay is not None:
            self._relay.start()
        elif self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        self.up()
        if self._relay is not None:
            self._relay.close()
