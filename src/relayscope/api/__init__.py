"""The JSON API under ``/api`` (logs today; prompts, analytics and more join here)."""

from relayscope.api.app import create_api

__all__ = ["create_api"]
