"""Test helpers shipped with the package: a fake provider, a gateway process, waits."""
