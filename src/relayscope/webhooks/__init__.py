"""Request webhooks: POST every logged request record (optionally filtered) to a URL."""
