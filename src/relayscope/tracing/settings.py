"""Settings of the OpenTelemetry trace export (``RELAYSCOPE_OTEL_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from relayscope.config import setting


@dataclass(frozen=True, kw_only=True)
class TracingSettings:
    enabled: bool = setting(
        False, "Export a span per proxied request over OTLP/HTTP (needs relayscope[otel])."
    )
    endpoint: str = setting(
        "",
        "OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces "
        "(default: the OTEL_EXPORTER_OTLP_* variables, else http://localhost:4318/v1/traces).",
    )
    service_name: str = setting("relayscope", "service.name of the exported spans.")
