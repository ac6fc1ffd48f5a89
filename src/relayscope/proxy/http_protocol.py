"""uvicorn's httptools protocol, keeping the case of ``Helicone-Property-*`` names.

HTTP servers lower-case header names, but Helicone records property names as the
client wrote them (``Helicone-Property-Feature`` → ``Feature``). Only those headers
keep their case; the proxy matches every header name case-insensitively.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_PREFIX = b"helicone-property-"


class CasePreservingHttpToolsProtocol(HttpToolsProtocol):
    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if name[: len(_PREFIX)].lower() == _PREFIX:
            self.headers[-1] = (name, value)
