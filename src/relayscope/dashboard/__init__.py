"""The web dashboard: request explorer, sessions, users, properties, analytics, prompts."""

from relayscope.dashboard.app import create_dashboard

__all__ = ["create_dashboard"]
