// Loaded into the Portkey gateway for bench.streams (node --import).
// Portkey adds its own headers to the provider's fetch Response, whose headers are
// immutable under Node's fetch, so every stream fails with "TypeError: immutable"
// (Portkey-AI/gateway issues 1389 and 1550). Handing it a copy with mutable headers
// lets it stream; the copy wraps the same body stream, so no byte is buffered.
const original = globalThis.fetch;
const NO_BODY = new Set([101, 204, 205, 304]);

globalThis.fetch = async (...args) => {
  const response = await original(...args);
  return new Response(NO_BODY.has(response.status) ? null : response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
