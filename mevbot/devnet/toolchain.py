"""Where the devnet's pinned npm packages live, and installing them on first use.

Versions are pinned in the repo's package.json + package-lock.json; ``npm ci`` installs exactly
those into ``<repo>/node_modules`` (the project-local folder). anvil itself comes from the npm
package ``@foundry-rs/anvil-linux-amd64`` there, so nothing is downloaded outside the registry.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

from mevbot.devnet.errors import ToolMissing

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
_STAMP = ".installed"


def node_modules(root: Path = REPO_ROOT) -> Path:
    return root / "node_modules"


def anvil_binary(root: Path = REPO_ROOT) -> Path:
    return node_modules(root) / ANVIL_PACKAGE / "bin" / "anvil"


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} is not installed or not on PATH; the devnet needs Node.js 18+ with npm "
                          f"(e.g. `apt-get install nodejs npm`)")
    return path


def _installed(root: Path) -> bool:
    """True when node_modules holds every direct dependency at the version the lock pins."""
    try:
        lock = json.loads((root / "package-lock.json").read_text())
        wanted = json.loads((root / "package.json").read_text()).get("dependencies", {})
        for name in wanted:
            pinned = lock["packages"][f"node_modules/{name}"]["version"]
            installed = json.loads((node_modules(root) / name / "package.json").read_text())["version"]
            if installed != pinned:
                return False
    except (OSError, ValueError, KeyError):
        return False
    return anvil_binary(root).exists()


def ensure_npm_packages(root: Path = REPO_ROOT) -> None:
    """Run ``npm ci`` into ``<root>/node_modules`` unless the pinned packages are already there."""
    require_program("node")
    if _installed(root):
        return
    npm = require_program("npm")
    log.info("installing the devnet's pinned npm packages into %s", node_modules(root))
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolMissing(f"`npm ci` in {root} failed (exit {result.returncode}): {result.stderr.strip()[-800:]}")
    if not anvil_binary(root).exists():
        raise ToolMissing(f"npm installed the packages but {anvil_binary(root)} is missing")
