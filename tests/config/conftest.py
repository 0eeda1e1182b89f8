"""Helpers for the config tests: write a config file into a temporary folder."""

from __future__ import annotations

import pathlib
import textwrap

import pytest


@pytest.fixture
def write_config(tmp_path: pathlib.Path):
    """Write dedented TOML text to tmp_path/<name> and return its path."""
    def write(text: str, name: str = "config.toml") -> pathlib.Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path
    return write
