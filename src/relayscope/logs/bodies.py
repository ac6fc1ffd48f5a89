"""What the log keeps of bodies that are not text: metadata, never the bytes.

Audio uploads, speech, images and files pass through byte for byte; their records
keep what describes them. A multipart request keeps its form fields and, for each
file part, its headers and a marker with its size. A binary response (``audio/*``,
``image/*``, ``application/octet-stream`` ...) is logged as a marker naming its
type and size.
"""

from __future__ import annotations

import re

_BINARY_TYPES = ("audio/", "image/", "video/")
_BINARY_EXACT = frozenset(
    {"application/octet-stream", "application/pdf", "application/zip", "application/binary"}
)
_BOUNDARY = re.compile(r'boundary="?([^";\s]+)"?', re.IGNORECASE)
_HEADER_END = b"\r\n\r\n"
_FIELD_LIMIT = 4096
"""Bytes of a non-file form field kept (prompts, model names, options)."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_binary(content_type: str | None) -> bool:
    kind = media_type(content_type)
    return kind.startswith(_BINARY_TYPES) or kind in _BINARY_EXACT


def binary_marker(content_type: str | None, size: int) -> str:
    return f"[RelayScope: {size} bytes of {media_type(content_type) or 'binary data'} not logged]"


def is_multipart(content_type: str | None) -> bool:
    return media_type(content_type) == "multipart/form-data"


def multipart_summary(body: bytes, content_type: str) -> str:
    """The body with each file part's content replaced by a marker of its size.

    A body that is not well-formed multipart is summarised by its size alone.
    """
    found = _BOUNDARY.search(content_type)
    if found is None:
        return binary_marker(content_type, len(body))
    delimiter = b"--" + found.group(1).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        return binary_marker(content_type, len(body))
    out: list[str] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            out.append(f"--{found.group(1)}--")
            break
        head, separator, content = chunk.removeprefix(b"\r\n").partition(_HEADER_END)
        content = content.removesuffix(b"\r\n")
        headers = head.decode("utf-8", "replace")
        out.append(f"--{found.group(1)}\r\n{headers}\r\n")
        if not separator:
            continue
        out.append("\r\n")
        part_type = re.search(r"content-type:\s*([^\r\n]+)", headers, re.IGNORECASE)
        if "filename=" in headers or (part_type and is_binary(part_type.group(1))):
            out.append(binary_marker(part_type.group(1) if part_type else None, len(content)))
        elif len(content) > _FIELD_LIMIT:
            kept = content[:_FIELD_LIMIT].decode("utf-8", "ignore")
            out.append(f"{kept}[RelayScope: field cut, {len(content)} bytes]")
        else:
            out.append(content.decode("utf-8", "replace"))
        out.append("\r\n")
    return "".join(out)
