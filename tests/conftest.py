"""Shared fixtures; the heavier ones live in tests/fixtures/ and are loaded here."""

pytest_plugins = [
    "tests.fixtures.devnet",
]
