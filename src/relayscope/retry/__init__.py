"""Retries with backoff and fallbacks to other models and providers (issue 7)."""
