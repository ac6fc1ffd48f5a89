"""Wire formats: usage extraction and stream reconstruction per API family."""

from relayscope.providers.formats.base import PLAIN, Parsed, body_format, parse_response

__all__ = ["PLAIN", "Parsed", "body_format", "parse_response"]
