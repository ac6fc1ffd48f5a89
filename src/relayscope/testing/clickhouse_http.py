"""ClickHouse's HTTP interface on loopback, answered by the embedded engine (chDB).

No ClickHouse server can be installed on the test machines (see docs/scaling.md),
so this serves the part of the HTTP protocol the gateway speaks: the statement
(and any inline insert data) in the POST body, ``param_<name>`` query parameters,
``database``, and ``X-ClickHouse-User`` / ``X-ClickHouse-Key`` authentication;
errors answer 500 with ClickHouse's message. The SQL itself runs in real
ClickHouse code.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class ClickHouseHttp:
    def __init__(self, data_dir: Path, *, user: str = "default", password: str = "") -> None:
        from chdb import session

        self.user, self.password = user, password
        self.statements: list[str] = []
        self._session = session.Session(str(data_dir))
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, database: str = "relayscope") -> str:
        """The ``RELAYSCOPE_LOGS_URL`` that reaches this server."""
        return f"clickhouse://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def query(self, sql: str) -> bytes:
        with self._lock:
            data: bytes = self._session.query(sql, "JSONEachRow").bytes()
        return data

    def __enter__(self) -> ClickHouseHttp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._session.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                user = self.headers.get("X-ClickHouse-User", "default")
                if (user, self.headers.get("X-ClickHouse-Key", "")) != (owner.user, owner.password):
                    return self._answer(516, b"Code: 516. DB::Exception: Authentication failed")
                sql = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                params = {
                    k.removeprefix("param_"): v[0] for k, v in query.items() if k != "database"
                }
                owner.statements.append(sql)
                try:
                    with owner._lock:
                        output = owner._session.query(sql, "TabSeparated", params=params).bytes()
                except Exception as exc:
                    return self._answer(500, str(exc).encode())
                self._answer(200, output)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
