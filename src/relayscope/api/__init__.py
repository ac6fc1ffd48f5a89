"""The JSON API under ``/api`` (logs today; prompts, analytics and more join here)."""

from relayscope.api.app import create_api
from relayscope.api.services import ApiServices

__all__ = ["ApiServices", "create_api"]
