"""Starting and stopping anvil (from the pinned npm package) as a child process.

anvil prints ``Listening on 127.0.0.1:PORT`` once it serves; we send its output to a log file
and read that line from the file, which also tells us the port when we asked for port 0.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

from mevbot.devnet.errors import DevnetError
from mevbot.devnet.toolchain import anvil_binary

_LISTENING = re.compile(rb"Listening on [0-9.]+:(\d+)")


def anvil_argv(*, port: int, chain_id: int, block_time_ms: int | None, load_state: Path | None = None,
               host: str = "127.0.0.1") -> list[str]:
    """anvil's command line; ``block_time_ms=None`` means automine (used while deploying)."""
    argv = [str(anvil_binary()), "--host", host, "--port", str(port), "--chain-id", str(chain_id),
            "--order", "fifo", "--accounts", "10"]
    if block_time_ms is not None:
        argv += ["--block-time", f"{block_time_ms / 1000:g}"]
    if load_state is not None:
        argv += ["--load-state", str(load_state)]
    return argv


class AnvilProcess:
    """A running anvil; ``port`` is the one it actually listens on."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, argv: list[str], log_path: Path, *, timeout_s: float = 60.0) -> AnvilProcess:
        if not Path(argv[0]).exists():
            raise DevnetError(f"anvil is not installed at {argv[0]}; run `npm ci` at the repo root")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while True:
            match = _LISTENING.search(log_path.read_bytes())
            if match:
                return cls(process, int(match.group(1)), log_path)
            if process.poll() is not None:
                tail = log_path.read_bytes()[-1500:].decode(errors="replace")
                raise DevnetError(f"anvil exited with code {process.returncode} before serving; log {log_path}:\n{tail}")
            if time.monotonic() > deadline:
                process.kill()
                raise DevnetError(f"anvil did not serve within {timeout_s} s; log {log_path}")
            time.sleep(0.02)  # polling anvil's real "Listening on" line, with a deadline

    def stop(self, *, timeout_s: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
