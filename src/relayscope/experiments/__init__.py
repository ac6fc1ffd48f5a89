"""Experiments: a dataset run against variants through the gateway, compared side by side."""
