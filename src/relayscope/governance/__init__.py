"""Data governance: redaction of stored bodies, retention, deletion and export."""
