"""Feedback and scores on requests, with Helicone's API shapes."""
