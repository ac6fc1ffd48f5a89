"""Limits of the HTTP server layer on every route, through a real gateway process and raw
sockets: a body is refused or abandoned without being read to the end, a slow head or
body costs a connection only for its timeout, an oversized head is refused as soon as it
crosses the limit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from relayscope.testing.orgs import OrgKey, create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env

MB = 1024 * 1024
HUGE = 200 * MB
HEAD_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5
PIECE = b"a" * (64 * 1024)


@pytest.fixture(scope="module")
def quick(e2e_process, tmp_path_factory, fake_server) -> Iterator[GatewayProcess]:
    """A gateway with short head and body timeouts."""
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_CLIENT_HEADER_TIMEOUT": str(HEAD_TIMEOUT),
        "RELAYSCOPE_CLIENT_BODY_TIMEOUT": str(BODY_TIMEOUT),
    }
    with GatewayProcess(tmp_path_factory.mktemp("quick"), env) as process:
        yield process


@pytest.fixture(scope="module")
def quick_org(quick: GatewayProcess) -> OrgKey:
    return create_org(quick.database_url)


@dataclass
class Upload:
    """What a client streaming a request to the gateway saw."""

    answer: bytes
    answered_after: float
    bytes_sent: int


def upload(port: int, head: bytes, pieces: Iterator[bytes], wait: float = 15.0) -> Upload:
    """Sends ``head`` then ``pieces`` from a thread, as fast as the gateway takes them,
    until the gateway answers and closes, refuses more bytes, or ``wait`` seconds pass."""
    sent = 0
    done = threading.Event()

    def send_all(sock: socket.socket) -> None:
        nonlocal sent
        try:
            sock.sendall(head)
            for piece in pieces:
                if done.is_set():
                    return
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the gateway closed the connection: what the tests look for

    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        started = time.monotonic()
        sender = threading.Thread(target=send_all, args=(sock,), daemon=True)
        sender.start()
        answer = b""
        answered_after = float("inf")
        # Until the gateway closes the connection the sender keeps going: what it
        # managed to send by then is what the gateway accepted.
        try:
            while chunk := sock.recv(65536):
                answered_after = min(answered_after, time.monotonic() - started)
                answer += chunk
        except OSError:
            pass
        done.set()
        sender.join(wait)
    return Upload(answer, answered_after, sent)


def repeated(total: int) -> Iterator[bytes]:
    for _ in range(total // len(PIECE)):
        yield PIECE


def chunked(total: int) -> Iterator[bytes]:
    framed = b"%x\r\n%s\r\n" % (len(PIECE), PIECE)
    for _ in range(total // len(PIECE)):
        yield framed


def status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


ROUTES = [
    ("/api/redaction-rules", "application/json", 413),
    ("/dashboard/signin", "application/x-www-form-urlencoded", 413),
    ("/openai/v1/chat/completions", "application/json", 413),
    ("/healthz", "application/json", 200),
]


@pytest.mark.parametrize(("path", "content_type", "expected"), ROUTES)
def test_a_200_mb_body_is_answered_at_once_and_not_read(quick, quick_org, path, content_type,
                                                        expected):  # fmt: skip
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {quick_org.key}\r\n"
        f"Helicone-Auth: Bearer {quick_org.key}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {HUGE}\r\n\r\n"
    ).encode()
    result = upload(quick.port, head, repeated(HUGE))
    assert status(result.answer) == expected
    assert result.answered_after < 5
    # Socket buffers on both sides take a few MB (2-5 here) before the sender notices.
    assert result.bytes_sent < 16 * MB, result.bytes_sent


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/redaction-rules", "application/json"),
        ("/dashboard/signin", "application/x-www-form-urlencoded"),
    ],
)
def test_a_chunked_body_is_refused_once_past_the_api_limit(quick, quick_org, path, content_type):
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {quick_org.key}\r\n"
        f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    result = upload(quick.port, head, chunked(HUGE))
    assert status(result.answer) == 413
    assert b"1048576 bytes" in result.answer
    assert result.answered_after < 5
    assert result.bytes_sent < 16 * MB, result.bytes_sent


def test_a_50_mb_header_is_refused_with_431_as_soon_as_it_is_too_large(quick):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    result = upload(quick.port, head, repeated(50 * MB))
    assert status(result.answer) == 431
    assert b"headers_too_large" in result.answer
    assert result.answered_after < 5
    assert result.bytes_sent < 16 * MB, result.bytes_sent


@pytest.mark.parametrize("path", ["/healthz", "/api/requests", "/openai/v1/models"])
def test_a_client_dribbling_its_head_is_disconnected_after_the_head_timeout(quick, path):
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode())
        answer = b""
        sock.settimeout(0.1)
        while time.monotonic() - started < 10:
            try:
                sock.sendall(b"X")  # a header name that never ends
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        waited = time.monotonic() - started
    assert waited < HEAD_TIMEOUT + 3, "still connected"
    assert answer == b"" or status(answer) == 408


def test_an_idle_connection_is_closed_after_the_head_timeout(quick):
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(4096) == b""
        assert time.monotonic() - started < HEAD_TIMEOUT + 3


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/api/redaction-rules", "application/json", b'{"kind": "pat'),
        ("/dashboard/signin", "application/x-www-form-urlencoded", b"key=rs-"),
    ],
)
def test_a_client_that_stops_mid_body_gets_408(quick, quick_org, path, content_type, body):
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {quick_org.key}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: 500\r\n\r\n".encode()
            + body
        )
        answer = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        waited = time.monotonic() - started
    assert status(answer) == 408
    assert b"request_timeout" in answer
    assert BODY_TIMEOUT * 0.8 < waited < BODY_TIMEOUT + 3


def test_a_property_value_loses_its_trailing_whitespace(quick, quick_org):
    body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as sock:
        sock.sendall(
            b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + f"Helicone-Auth: Bearer {quick_org.key}\r\n".encode()
            + b"Helicone-Property-Feature: chat \t \r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert status(answer) == 200
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    request_id = next(
        line.split(":", 1)[1].strip()
        for line in head.split("\r\n")
        if line.lower().startswith("helicone-id:")
    )
    record = wait_for_record(quick, quick_org, request_id)
    assert record["properties"] == {"feature": "chat"}
