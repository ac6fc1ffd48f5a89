"""A loopback listener that records every connection made to it, for SSRF and key-scope tests.

One port speaks both plain HTTP and TLS (a throwaway self-signed certificate: the test's
client sessions do not verify it), so an ``https://`` upstream lands here as readily as an
``http://`` one. For each connection it records the TLS server name; for each request the
Host header, the path and every credential header; every request gets ``answer``.

``ListenerResolver`` sends every host name to the listener, whatever port the URL named,
so a test learns which names the gateway tried to reach without any real DNS.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import socketserver
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")
_TLS_HANDSHAKE = 0x16


@dataclass(frozen=True)
class Seen:
    """One request the listener received."""

    server_name: str | None
    """TLS SNI of its connection (None over plain HTTP)."""
    host: str | None
    """Its Host header: the authority the client meant to reach."""
    path: str
    credentials: dict[str, str] = field(repr=False)
    """Credential headers by lower-case name."""


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    body: bytes = b'{"id": "listener", "object": "chat.completion", "choices": []}'


class RecordingListener:
    """Accepts on 127.0.0.1 (and ::1 on the same port when it can) in a background thread."""

    def __init__(self) -> None:
        self.answer = Answer()
        self._lock = threading.Lock()
        self._connections = 0
        self._requests: list[Seen] = []
        self._certificates = tempfile.TemporaryDirectory()
        self._tls = _server_context(Path(self._certificates.name))
        self._servers = _bind(self)
        self.port: int = self._servers[0].server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads = [
            threading.Thread(target=server.serve_forever, daemon=True) for server in self._servers
        ]

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._connections = 0
            self._requests.clear()
        self.answer = Answer()

    def resolver(self) -> ListenerResolver:
        return ListenerResolver(self.port)

    def __enter__(self) -> RecordingListener:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)
        self._certificates.cleanup()

    def _connected(self) -> None:
        with self._lock:
            self._connections += 1

    def _received(self, seen: Seen) -> None:
        with self._lock:
            self._requests.append(seen)


class ListenerResolver(AbstractResolver):
    """Resolves every name to the listener; remembers which names it was asked for."""

    def __init__(self, port: int) -> None:
        self._port = port
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self._port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], family: int, listener: RecordingListener):
        self.address_family = family
        self.listener = listener
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Refused handshakes and dropped connections are expected here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_name: str | None = None

    def setup(self) -> None:
        listener = self.server.listener
        listener._connected()
        self.request.settimeout(5)
        first = self.request.recv(1, socket.MSG_PEEK)
        if first and first[0] == _TLS_HANDSHAKE:
            self.request = listener._tls.wrap_socket(self.request, server_side=True)
            self.server_name = getattr(self.request, "sent_server_name", None)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):  # the server closes only the raw one
                self.request.close()

    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        credentials = {
            name: value
            for name in CREDENTIAL_HEADERS
            if (value := self.headers.get(name)) is not None
        }
        seen = Seen(self.server_name, self.headers.get("host"), self.path, credentials)
        self.server.listener._received(seen)
        answer = self.server.listener.answer
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(answer.body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = _record

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _bind(listener: RecordingListener) -> list[_Server]:
    first = _Server(("127.0.0.1", 0), socket.AF_INET, listener)
    servers = [first]
    # Skipped when there is no IPv6 loopback here, or the port is taken on it.
    with contextlib.suppress(OSError):
        servers.append(_Server(("::1", first.server_address[1]), socket.AF_INET6, listener))
    return servers


def _server_context(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relayscope-test-listener")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = _remember_server_name
    return context


def _remember_server_name(sock: Any, name: str | None, _context: ssl.SSLContext) -> None:
    sock.sent_server_name = name
