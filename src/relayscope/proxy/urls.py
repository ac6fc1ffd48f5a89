"""Upstream URLs, built from checked parts so nothing a client sends can move the host.

An upstream URL is an origin the gateway decided on (a provider's, or one the allowlist
admits), the base path that goes with it, and the client's path. Strings are never
glued together and trusted: the client's path must be a plain absolute path, and the
joined URL is parsed back with the parser aiohttp sends it with and must name the same
origin. Anything else is ``UnsafeUrl``, which callers turn into a 400.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from yarl import URL

DEFAULT_PORTS = {"http": 80, "https": 443}

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_PATH = re.compile(r"(?:/(?!\.{1,2}(?:/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]+)*/?")
"""Non-empty segments of RFC 3986 path characters without ``%``, none of them ``.`` or
``..``; a trailing ``/`` is allowed (see ``check_path``)."""
_URL_TEXT = re.compile(r"[\x21-\x7e]+")


class UnsafeUrl(ValueError):
    """A URL or path the gateway will not send a request to; the message says why."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port: what decides where a connection goes."""

    scheme: str
    host: str
    """Lower-case name, dotted-quad IPv4 or compressed IPv6 (no brackets)."""
    port: int
    text: str = field(init=False, compare=False, repr=False)
    """``scheme://host[:port]``, the port left out when it is the scheme's default."""

    def __post_init__(self) -> None:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        object.__setattr__(self, "text", f"{self.scheme}://{host}{port}")

    def __str__(self) -> str:
        return self.text

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The address when the host is an IP literal."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def parse_base(url: str) -> tuple[Origin, str]:
    """Origin and path of a base URL: http(s), a host, no credentials, query or fragment."""
    if not _URL_TEXT.fullmatch(url) or "\\" in url:
        raise UnsafeUrl("must be a URL of printable ASCII without spaces or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        raise UnsafeUrl("must be an http(s) URL with a host")
    if "@" in parts.netloc:
        raise UnsafeUrl("must not contain credentials")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise UnsafeUrl("must not contain a query or fragment")
    host = _host(parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc)
    if port is not None and not 0 < port < 65536:
        raise UnsafeUrl("port must be 1-65535")
    path = parts.path.rstrip("/")
    check_path(path)
    return Origin(scheme, host, DEFAULT_PORTS[scheme] if port is None else port), path


def check_path(path: str) -> None:
    """A path the gateway may send: empty, or ``/`` segments of plain URL characters.

    Refused: anything that could end the path or be read as another part of a URL
    (``?``, ``#``, ``\\``), whitespace and control characters, ``%`` (the server has
    already decoded the path once; what is left would be decoded again upstream), empty
    segments (``//``) and ``.``/``..`` segments. An ``@`` inside a segment stays: behind
    the first ``/`` it cannot be read as credentials, and Vertex model names use it
    (``claude-3-5-sonnet@20240620``).
    """
    if not _PATH.fullmatch(path):
        raise UnsafeUrl(
            "must be /-separated segments of letters, digits and -._~!$&'()*+,;=: "
            "(no empty, '.' or '..' segments)"
        )


@functools.lru_cache(maxsize=4096)  # requests go to few URLs: each is checked once
def join(origin: Origin, base_path: str, path: str) -> str:
    """``origin`` + ``base_path`` + ``path``, refused unless it still names ``origin``."""
    check_path(path)
    url = f"{origin.text}{base_path}{path}"
    # Parsed back as aiohttp will parse it: the host, port and scheme must be the ones
    # the gateway chose, with nothing else (credentials, query, fragment) read into it.
    parsed = URL(url, encoded=True)
    if (
        parsed.scheme != origin.scheme
        or parsed.raw_host != origin.host
        or parsed.port != origin.port
        or parsed.raw_user is not None
        or parsed.raw_password is not None
        or parsed.raw_query_string
        or parsed.raw_fragment
        or parsed.raw_path != (base_path + path or "/")
    ):
        raise UnsafeUrl(f"the upstream URL would not be on {origin}")
    return url


def origin_of(url: URL) -> Origin | None:
    scheme, host = url.scheme, url.raw_host
    if scheme not in DEFAULT_PORTS or not host:
        return None
    try:
        host = _host(f"[{host}]" if ":" in host else host)
    except UnsafeUrl:
        return None
    return Origin(scheme, host, url.port or DEFAULT_PORTS[scheme])


def _host(text: str) -> str:
    """The host of a netloc (port removed): a DNS name, dotted-quad IPv4 or ``[IPv6]``."""
    text = text.lower()
    if text.startswith("[") and text.endswith("]"):
        if "%" in text:
            raise UnsafeUrl("has an IPv6 zone id")
        try:
            return ipaddress.IPv6Address(text[1:-1]).compressed
        except ValueError:
            raise UnsafeUrl("has an invalid IPv6 address") from None
    if not _HOST_NAME.fullmatch(text) or len(text) > 253:
        raise UnsafeUrl("has an invalid host name")
    if _NUMERIC_LABEL.fullmatch(text.rsplit(".", 1)[-1]):
        # A numeric last label makes resolvers read the whole name as IPv4, in decimal,
        # octal or hex (2130706433, 0177.0.0.1, 0x7f.1): only the plain form is allowed.
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise UnsafeUrl("has an IPv4 address in a non-standard form") from None
    return text
