"""Records of requests made without the proxy: logged by an application, or read from
OpenTelemetry traces."""
