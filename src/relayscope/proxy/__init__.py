"""The proxy core: the ASGI app, routing, upstream calls and request-id handling."""
