"""RelayScope benchmark harness (issue #4). Run with `python -m bench`; see bench/README.md."""
