"""Losses counted by id: the load clients write each 2xx answer's Helicone-Id, and
``lost_by_id`` reports every one the store lacks, whatever the totals say."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bench.http1 import Endpoint
from bench.ids import lost_by_id, read_answered
from bench.load import LoadGenerator, LoadSpec, run_ttfb


class IdServer:
    """Answers POSTs with a fresh Helicone-Id; every third one is a 500 (with an id
    too: it must not count as answered)."""

    def __init__(self) -> None:
        self.ok_ids: list[str] = []
        self.error_ids: list[str] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                request_id = str(uuid.uuid4())
                with lock:
                    fail = (len(server.ok_ids) + len(server.error_ids)) % 3 == 2
                    (server.error_ids if fail else server.ok_ids).append(request_id)
                body = b'data: {"choices": []}\n\ndata: [DONE]\n\n'
                self.send_response(500 if fail else 200)
                self.send_header("Helicone-Id", request_id)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]


@pytest.fixture
def server() -> Iterator[IdServer]:
    srv = IdServer()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.mark.parametrize("tool", ["wrk", "python"])
def test_load_clients_write_the_id_of_every_2xx_answer(server, tmp_path: Path, tool):
    wrk = shutil.which("wrk")
    if tool == "wrk" and wrk is None:
        pytest.skip("wrk is not installed")
    body = tmp_path / "body.json"
    body.write_text("{}")
    endpoint = Endpoint("127.0.0.1", server.port, "/v1/chat/completions", {})
    ids_dir = tmp_path / "ids"
    ids_dir.mkdir()
    gen = LoadGenerator(wrk if tool == "wrk" else None)
    result = gen.run(endpoint, body, LoadSpec(2, 2, 1.0), ids_dir / "saturated")
    run_ttfb(endpoint, body, 6, 30, ids_dir / "ttfb")
    answered = read_answered(ids_dir)
    assert result.requests > 0 and result.non2xx > 0
    # Every id read in a 2xx answer; none of a 500. (A request abandoned in flight at
    # the end of the run may have an id the client never read: not answered.)
    assert answered <= set(server.ok_ids)
    assert not answered & set(server.error_ids)
    assert len(server.ok_ids) - len(answered) <= 2 * 2  # at most one in flight per connection
    assert len(answered) >= result.requests - result.non2xx


def test_a_missing_id_is_a_loss_even_when_the_totals_match():
    answered = {"a", "b", "c"}
    # Same count as answered: one record of an abandoned request, one answered id lost.
    report = lost_by_id(answered, lambda: {"a", "b", "abandoned"}, deadline_s=0.2, poll_s=0.05)
    assert report["lost"] == 1 and report["lost_ids"] == ["c"]
    assert report["unanswered_stored"] == 1
    assert lost_by_id(answered, lambda: answered | {"x"}, deadline_s=5)["lost"] == 0


def test_ids_still_arriving_are_waited_for():
    stored: set[str] = set()
    arriving = iter(["a", "b", "c"])

    def store() -> set[str] | None:
        stored.add(next(arriving, "c"))
        return set(stored)

    assert lost_by_id({"a", "b", "c"}, store, deadline_s=10, poll_s=0.01)["lost"] == 0
