"""Local receivers for outbound traffic in tests: an HTTP webhook receiver and an
SMTP server, both real servers on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from relayscope.testing.process import free_port
from relayscope.testing.waiting import wait_until


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes
    status: int
    """What the receiver answered."""
    at: float
    """time.monotonic() on arrival."""

    def json(self) -> Any:
        return orjson.loads(self.body)


class WebhookReceiver:
    """Records every POST (and GET); answers 200 unless told otherwise with ``fail_next``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._script: list[int] = []
        self.delay = 0.0
        """Seconds to wait before answering each POST (a slow receiver)."""
        self.location = "/redirected"
        """The ``Location`` sent with a scripted 3xx answer: a redirect followed would
        arrive there (as a POST, or a GET after a 303)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    status = receiver._script.pop(0) if receiver._script else 200
                    receiver._received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status,
                            time.monotonic(),
                        )
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self) -> None:
                with receiver._lock:
                    receiver._received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            b"",
                            200,
                            time.monotonic(),
                        )
                    )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` POSTs with ``status``."""
        with self._lock:
            self._script.extend([status] * count)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` POSTs to ``path``, once they have arrived."""
        found = wait_until(
            lambda: self.at(path) if len(self.at(path)) >= count else None, timeout=timeout
        )
        return found[:count]

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    """The user name the client logged in with, if it did."""


class SmtpReceiver:
    """An aiosmtpd server that keeps every message. With ``tls`` it requires STARTTLS
    (and then a login, given ``credentials``); without, it accepts a login in clear."""

    def __init__(
        self, credentials: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.port = free_port()
        self.mails: list[Mail] = []
        self.failed_logins = 0
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                login = session.auth_data.login.decode() if session.auth_data else None
                receiver.mails.append(
                    Mail(envelope.mail_from, list(envelope.rcpt_tos), message, login)
                )
                return "250 OK"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, auth: Any
        ) -> AuthResult:
            ok = credentials is not None and (auth.login.decode(), auth.password.decode()) == (
                credentials
            )
            if not ok:
                receiver.failed_logins += 1
            return AuthResult(success=ok, auth_data=auth if ok else None)

        options: dict[str, Any] = {}
        if tls is not None:
            options = {"tls_context": tls, "require_starttls": True}
        if credentials is not None:
            options["authenticator"] = authenticate
            # Without TLS, AUTH is offered anyway (tests only), and not required, since
            # aiosmtpd warns about requiring it in clear.
            options["auth_require_tls"] = tls is not None
            options["auth_required"] = tls is not None
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        found = wait_until(
            lambda: self.mails if len(self.mails) >= count else None, timeout=timeout
        )
        return found[:count]

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
