"""Starting and stopping anvil (from the pinned npm package) as a child process.

anvil prints ``Listening on 127.0.0.1:PORT`` once it serves; a thread copies its output to a log
file, with the banner's dev private keys and mnemonic redacted, and watches for that line, which
also tells us the port when we asked for port 0.

anvil dies with the process that started it, even when that process is killed with SIGKILL and
has no chance to stop it (a test's timeout, the OOM killer): on Linux the child asks the kernel
for SIGKILL on its parent's death (``prctl(PR_SET_PDEATHSIG)``) before it execs anvil. The
kernel's "parent" is the *thread* that forked, and callers start anvil from trio worker threads,
which exit after a few idle seconds; so every anvil is forked by one spawner thread that lives as
long as the process does.
"""

from __future__ import annotations

import ctypes
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
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


PR_SET_PDEATHSIG = 1


def _die_with_parent(prctl, parent_pid: int) -> None:
    """preexec_fn: SIGKILL this child when its parent dies; exit now if it already has.

    Runs between fork and exec, so it only calls what the parent resolved beforehand.
    """
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(125)  # no silent fallback to an anvil that could outlive us
    if os.getppid() != parent_pid:  # the parent died between fork and prctl
        os._exit(125)


_spawn_requests: queue.SimpleQueue[tuple[Future, list[str], int]] = queue.SimpleQueue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _spawn_loop() -> None:
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent_pid = os.getpid()
    while True:
        future, argv, log_fd = _spawn_requests.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(subprocess.Popen(argv, stdout=log_fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                               process_group=0,
                                               preexec_fn=lambda: _die_with_parent(prctl, parent_pid)))
        except BaseException as exc:  # handed to the caller, which re-raises it
            future.set_exception(exc)


def spawn_tied_to_process(argv: list[str], log_fd: int) -> subprocess.Popen[bytes]:
    """Start ``argv`` (stdout and stderr to ``log_fd``, a file descriptor or ``subprocess.PIPE``)
    so that it is SIGKILLed when this process dies, in a process group of its own: a signal to
    ours (`timeout`, a terminal's Ctrl-C) reaches us, and we stop the chain after what uses it."""
    if not sys.platform.startswith("linux"):
        return subprocess.Popen(argv, stdout=log_fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                process_group=0)
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_spawn_loop, name="anvil-spawner", daemon=True)
            _spawner.start()
    future: Future = Future()
    _spawn_requests.put((future, argv, log_fd))
    return future.result()


#: anvil's start-up banner lists every dev account's private key and the mnemonic: public test
#: keys, but a key is never written to a log, so those lines are redacted on the way to the file.
_PRIVATE_KEY_LINE = re.compile(rb"^(\s*\(\d+\)\s+)0x[0-9a-fA-F]{64}\s*$")
_MNEMONIC_LINE = re.compile(rb"^(\s*Mnemonic:\s*).*$")


def redact_line(line: bytes) -> bytes:
    """One line of anvil's output as it may be logged (keys and mnemonic replaced)."""
    end = b"\n" if line.endswith(b"\n") else b""
    body = line[:-1] if end else line
    for pattern in (_PRIVATE_KEY_LINE, _MNEMONIC_LINE):
        match = pattern.match(body)
        if match:
            return match.group(1) + b"<redacted>" + end
    return line


def _copy_redacted(process: subprocess.Popen[bytes], log_path: Path, port: list[int],
                   listening: threading.Event) -> None:
    """Copy anvil's output to its log, redacted, until it exits; note the port it listens on."""
    try:
        with open(log_path, "wb") as log:
            for line in process.stdout:
                log.write(redact_line(line))
                log.flush()
                if not listening.is_set():
                    match = _LISTENING.search(line)
                    if match:
                        port.append(int(match.group(1)))
                        listening.set()
    finally:
        listening.set()  # anvil exited (or the log failed): the starter looks at what it has


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
        process = spawn_tied_to_process(argv, subprocess.PIPE)
        listening = threading.Event()
        port: list[int] = []
        threading.Thread(target=_copy_redacted, args=(process, log_path, port, listening), daemon=True,
                         name=f"anvil-log {process.pid}").start()
        if not listening.wait(timeout_s):
            process.kill()
            raise DevnetError(f"anvil did not serve within {timeout_s} s; log {log_path}")
        if not port:
            process.wait()
            tail = log_path.read_bytes()[-1500:].decode(errors="replace")
            raise DevnetError(f"anvil exited with code {process.returncode} before serving; log {log_path}:\n{tail}")
        return cls(process, port[0], log_path)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
