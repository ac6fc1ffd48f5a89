"""Datasets: request/response pairs taken from the log, with editable expected outputs."""
