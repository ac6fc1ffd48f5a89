"""Wire formats: usage extraction and stream reconstruction per API family."""

from relayscope.providers.formats.base import Parsed, parse_response

__all__ = ["Parsed", "parse_response"]
