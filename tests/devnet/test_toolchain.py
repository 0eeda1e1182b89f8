"""`devnet up` runs `npm ci` exactly when node_modules does not hold what the lock pins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mevbot.devnet.errors import ToolMissing
from mevbot.devnet.state_cache import cache_key
from mevbot.devnet.toolchain import ANVIL_PACKAGE, _installed, ensure_npm_packages, require_program


def project(tmp_path: Path, installed: dict[str, str], pinned: dict[str, str]) -> Path:
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": pinned}))
    lock = {"packages": {f"node_modules/{name}": {"version": v} for name, v in pinned.items()}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    for name, version in installed.items():
        folder = tmp_path / "node_modules" / name
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"version": version}))
    anvil = tmp_path / "node_modules" / ANVIL_PACKAGE / "bin" / "anvil"
    if anvil.parent.parent.exists():
        anvil.parent.mkdir(parents=True, exist_ok=True)
        anvil.write_text("")
    return tmp_path


def test_packages_at_the_pinned_versions_count_as_installed(tmp_path):
    pins = {ANVIL_PACKAGE: "1.7.1", "solc": "0.8.37"}
    assert _installed(project(tmp_path, pins, pins))


def test_a_package_at_another_version_needs_npm_ci(tmp_path):
    pins = {ANVIL_PACKAGE: "1.7.1", "solc": "0.8.37"}
    assert not _installed(project(tmp_path, {**pins, "solc": "0.8.30"}, pins))


def test_a_missing_package_needs_npm_ci(tmp_path):
    pins = {ANVIL_PACKAGE: "1.7.1", "solc": "0.8.37"}
    assert not _installed(project(tmp_path, {ANVIL_PACKAGE: "1.7.1"}, pins))


def test_the_repos_own_node_modules_match_its_lock():
    ensure_npm_packages()  # returns at once: `make install` already ran npm ci


def test_a_missing_program_is_named_in_the_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="node is not installed"):
        require_program("node")


def test_the_saved_state_key_depends_on_the_chain_id():
    assert cache_key(42161) == cache_key(42161)
    assert cache_key(42161) != cache_key(1337)
