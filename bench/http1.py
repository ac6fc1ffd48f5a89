"""Tiny HTTP/1.1 request builder and blocking response reader (stdlib only)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def header_args(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.headers.items()]


def parse_header_args(items: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    return headers


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [
        f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Head:
    status: int
    headers: dict[str, str]

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None else None

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


def parse_head(raw: bytes) -> Head:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Head(status, headers)


@dataclass
class Timed:
    status: int
    ttfb_s: float
    total_s: float
    body: bytes
    keep_alive: bool
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-case names."""


class BlockingConnection:
    """One keep-alive connection; `request` times first body byte and completion."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _recv(self) -> bytes:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by peer")
        return data

    def request(self, raw_request: bytes) -> Timed:
        sock = self._connect()
        start = time.perf_counter()
        sock.sendall(raw_request)
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head_raw, _, self.buf = self.buf.partition(b"\r\n\r\n")
        head = parse_head(head_raw)
        while not self.buf:
            self.buf = self._recv()
        ttfb = time.perf_counter() - start
        body = self._read_body(head)
        total = time.perf_counter() - start
        if not head.keep_alive:
            self.close()
        return Timed(head.status, ttfb, total, body, head.keep_alive, head.headers)

    def _read_body(self, head: Head) -> bytes:
        if head.chunked:
            return self._read_chunked()
        length = head.content_length
        if length is None:
            while True:
                try:
                    self.buf += self._recv()
                except ConnectionError:
                    body, self.buf = self.buf, b""
                    self.close()
                    return body
        while len(self.buf) < length:
            self.buf += self._recv()
        body, self.buf = self.buf[:length], self.buf[length:]
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            while b"\r\n" not in self.buf:
                self.buf += self._recv()
            size_line, _, self.buf = self.buf.partition(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            while len(self.buf) < size + 2:
                self.buf += self._recv()
            if size == 0:
                while not self.buf.startswith(b"\r\n") and b"\r\n\r\n" not in self.buf:
                    self.buf += self._recv()
                end = 2 if self.buf.startswith(b"\r\n") else self.buf.index(b"\r\n\r\n") + 4
                self.buf = self.buf[end:]
                return b"".join(parts)
            parts.append(self.buf[:size])
            self.buf = self.buf[size + 2 :]
