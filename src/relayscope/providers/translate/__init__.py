"""OpenAI chat completions ⇄ Anthropic messages: requests, responses and streams.

Used by cross-provider fallbacks: the request is translated into the served
provider's format and its answer translated back into the client's. Anything that
has no counterpart raises ``TranslationError``.
"""

from relayscope.providers.translate.requests import (
    TranslationError,
    anthropic_to_openai_request,
    openai_to_anthropic_request,
)
from relayscope.providers.translate.responses import translate_body
from relayscope.providers.translate.streams import translate_stream

__all__ = [
    "TranslationError",
    "anthropic_to_openai_request",
    "openai_to_anthropic_request",
    "translate_body",
    "translate_stream",
]
