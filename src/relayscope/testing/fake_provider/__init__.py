"""A real HTTP server on loopback that speaks the OpenAI and Anthropic wire formats.

Used by the test suite and the benchmark as the upstream provider. ``FakeProvider``
runs it in a background thread (uvicorn + httptools, uvloop when installed);
``python -m relayscope.testing.fake_provider`` runs it in the foreground.

Endpoints (POST, matched by path suffix so every provider's prefix works, e.g.
``/v1/chat/completions``, ``/openai/deployments/X/chat/completions``,
``/v1beta/openai/chat/completions``):

``.../chat/completions`` (OpenAI)
    JSON ``chat.completion``, or with ``"stream": true`` SSE ``data: {json}\\n\\n``
    ``chat.completion.chunk`` events: a ``delta.role`` chunk, one content chunk per
    word, a chunk with ``finish_reason``, then (only with ``stream_options.include_usage``)
    a ``choices: []`` chunk carrying ``usage``, then ``data: [DONE]``.
``.../embeddings`` (OpenAI)
    One unit-length vector per input (string, list of strings, token array(s)),
    derived from SHA-256 of the input; 8 dims unless ``dimensions`` is given;
    ``encoding_format: "base64"`` returns little-endian float32, as the SDK expects.
``.../responses`` (OpenAI Responses API)
    JSON ``response``, or with ``"stream": true`` named events from ``response.created``
    through ``response.output_text.delta`` (one per word) to ``response.completed``
    (``.incomplete`` when ``max_output_tokens`` cuts it), which carries the usage.
    ``reasoning`` adds a reasoning item (summary deltas when asked) and reasoning
    tokens; tools give a ``function_call`` item; ``previous_response_id`` must name a
    stored response. ``GET``/``DELETE .../responses/{id}`` read and delete stored ones.
``.../messages`` (Anthropic)
    JSON ``message``, or with ``"stream": true`` named events ``event: NAME\\ndata: {json}\\n\\n``:
    ``message_start`` (usage.output_tokens 1), ``content_block_start``, ``ping``,
    ``content_block_delta`` per word (``text_delta``) or per argument fragment
    (``input_json_delta``), ``content_block_stop``, ``message_delta`` (stop_reason and
    final ``usage.output_tokens``), ``message_stop``.
Anything else
    404; Anthropic error format when the path is ``.../messages`` or the request has an
    ``anthropic-version``/``x-api-key`` header, OpenAI format otherwise. Errors look like
    ``{"error": {"message", "type", "param", "code"}}`` (OpenAI) and
    ``{"type": "error", "error": {"type", "message"}}`` (Anthropic). A body that is not
    a JSON object with a ``messages`` list (or ``input`` for embeddings) gets a 400.

Deterministic content:
    The reply is ``"Echo: <text>"`` where text is the last user message (OpenAI also
    counts ``tool`` messages), content given as a string or a list of parts; text of
    ``text`` parts and of Anthropic ``tool_result`` blocks is joined with spaces.
    ``max_tokens`` (or ``max_completion_tokens``) smaller than the reply's word count
    truncates it, with finish_reason ``length`` / stop_reason ``max_tokens``.
    The response ``model`` echoes the request's (else the Azure deployment name in the
    path, else ``fake-model``). Ids count up per server: ``chatcmpl-fake0000000001``...
Tool calls:
    Only when the request declares tools. Made when a ``x-fake-tool-call``/Behaviour
    override says so; else when ``tool_choice`` forces one (``required``, a named
    function, Anthropic ``any``/``tool``); else when tool_choice is not ``none`` and the
    final message is a user message (not an Anthropic tool_result) containing "weather".
    The tool is the forced one or the first declared; its arguments give each schema
    property a sample value: first ``enum`` entry, ``"fake-<name>"`` for strings,
    1 for numbers, true, [] or {}. Arguments stream in 4-character fragments.
Usage numbers (words = whitespace-separated words):
    prompt tokens = sum over messages (Anthropic: plus ``system``) of (3 + words).
    completion tokens = words in the reply, or for a tool call
    ceil(len(arguments JSON) / 4). Tools, images and names are not counted.
    Cached tokens N are extra prompt tokens served from cache: OpenAI reports
    ``prompt_tokens = base + N`` and ``prompt_tokens_details.cached_tokens = N``;
    Anthropic reports ``input_tokens = base`` and ``cache_read_input_tokens = N``
    (``cache_creation_input_tokens`` likewise from ``cache_creation_tokens``).
    Embeddings: prompt tokens = words per string input, elements per token array.

Control surface (the server runs in the test process):
    ``fake.enqueue(Behaviour(...), ...)`` queues behaviours consumed one per request,
    FIFO; ``fake.set_default(Behaviour(...))`` applies when the queue is empty;
    ``fake.reset()`` clears recordings, queue and default. See ``Behaviour`` for fields.
    Request headers override the scripted behaviour field by field:
    ``x-fake-status: 503``, ``x-fake-delay-ms: 250``, ``x-fake-chunk-delay-ms: 20``,
    ``x-fake-cut-after-chunks: 3``, ``x-fake-drop-connection: 1``,
    ``x-fake-cached-tokens: 100``, ``x-fake-cache-creation-tokens: 50``,
    ``x-fake-tool-call: true|false``, ``x-fake-retry-after: 2`` (adds ``retry-after``),
    ``x-fake-usage: {"prompt_tokens": "5"}`` and ``x-fake-fields: {"model": 42}`` (answer
    those usage counts and reply fields instead of the real ones: a provider that misreports),
    ``x-fake-stream-events: 12000`` (an OpenAI chat stream of that many text events: a
    long stream, cheap to make; ``fake.streamed_bytes`` counts what streams sent).
    An unparsable control header gets a 400.
Faults:
    ``cut_after_chunks`` raises inside the ASGI app after N body chunks, so uvicorn
    closes the socket without the terminating chunk: clients see an incomplete chunked
    read. ``drop_connection`` closes the socket before any response bytes.
CLI (for the benchmark):
    ``python -m relayscope.testing.fake_provider --host 127.0.0.1 --port 9000
    [--chunk-delay-ms 0]`` prints ``fake provider listening on URL`` and serves until
    SIGINT/SIGTERM. Responses are built with orjson from the request alone; the CLI
    keeps no recordings, so memory stays flat over long runs.
Recording:
    ``fake.requests`` is a snapshot list of ``RecordedRequest`` (method, path,
    query_string, headers as a case-insensitive ``starlette`` ``Headers``, raw body,
    parsed ``json`` or None), recorded as each request arrives; ``fake.calls`` counts
    them; ``fake.wait_for_calls(n, timeout=5)`` blocks on a condition variable.
"""

from .app import FakeProviderApp, RecordedRequest, RequestLog, Route
from .behaviour import Behaviour
from .openai_wire import embedding_vector
from .server import FakeProvider

__all__ = [
    "Behaviour",
    "FakeProvider",
    "FakeProviderApp",
    "RecordedRequest",
    "RequestLog",
    "Route",
    "embedding_vector",
]
