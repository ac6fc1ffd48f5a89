"""OpenTelemetry trace export: a span per proxied request, GenAI semantic conventions."""
