"""Where a running devnet says what runs where: ``<home>/devnet.json``, written once ready.

Kept free of heavy imports so that `mevbot devnet status` and `down` start quickly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mevbot.devnet.errors import DevnetNotRunning

STATUS_FILE = "devnet.json"


def status_path(home: Path) -> Path:
    return home / STATUS_FILE


def read_status(home: Path) -> dict[str, Any]:
    """The running devnet's status, or DevnetNotRunning (also for a stale file of a dead process)."""
    path = status_path(home)
    try:
        status = json.loads(path.read_text())
    except (FileNotFoundError, ValueError) as exc:
        raise DevnetNotRunning(f"no devnet is running under {home} (no readable {path.name})") from exc
    if not pid_alive(int(status.get("pid", 0))):
        raise DevnetNotRunning(f"the devnet under {home} is not running (process {status.get('pid')} is gone)")
    return status


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
