"""`mevbot up`'s supervisor: keep every process of this host running, stop them all cleanly.

Each process is a child `mevbot run --process NAME` in its own session (process group), so a
terminal's Ctrl-C reaches the supervisor only and the supervisor decides: on SIGINT/SIGTERM it
sends SIGTERM to every child, waits up to ``shutdown_deadline_s`` and then kills what is left
(the whole group). A child that dies on its own (a crash, kill -9) is restarted after a delay
that doubles per quick death up to ``backoff_max_s``; one that stayed up ``stable_after_s`` is
back to the first delay. Exit code 2 (invalid config) is not retried: it would fail the same way.
Children's output is forwarded line by line with a ``[name]`` prefix, and the supervisor's view
(pid, state, restarts, last exit) is written as JSON to ``status_path`` after every change.
Children learn the supervisor's pid from ``$MEVBOT_UP_PID`` and stop by themselves once their
parent is no longer it, so a supervisor killed with -9 leaves no bot running for long (not
PR_SET_PDEATHSIG: trio starts a child from a worker thread, and that signal fires when the
*thread* exits, ~10 s later).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
import trio

log = logging.getLogger("mevbot.deploy.up")

EXIT_INVALID_CONFIG = 2
SUPERVISOR_PID_ENV = "MEVBOT_UP_PID"  # read by `mevbot run --process` (mevbot/cli/run.py)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


@attrs.define
class ChildStatus:
    name: str
    state: str = "starting"  # starting, running, backoff, failed, stopping, stopped
    pid: int | None = None
    restarts: int = 0
    started_at: float | None = None  # wall clock
    last_exit: str = ""
    next_start_in_s: float = 0.0


class Supervisor:
    def __init__(self, processes: Sequence[str], argv_for: Callable[[str], list[str]], *,
                 backoff_s: float = 0.5, backoff_max_s: float = 30.0, stable_after_s: float = 30.0,
                 shutdown_deadline_s: float = 15.0, status_path: str | os.PathLike[str] | None = None,
                 output: IO[bytes] | None = None, env: dict[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.processes = list(processes)
        self.argv_for = argv_for
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.stable_after_s = stable_after_s
        self.shutdown_deadline_s = shutdown_deadline_s
        self.status_path = Path(status_path) if status_path is not None else None
        self.output = output if output is not None else sys.stderr.buffer
        self.env = {**(os.environ if env is None else env), SUPERVISOR_PID_ENV: str(os.getpid())}
        self.cwd = cwd
        self.children = {name: ChildStatus(name) for name in self.processes}
        self._procs: dict[str, trio.Process] = {}
        self._stopping = trio.Event()
        self.clean = True  # every child stopped with exit code 0 when asked

    # ---- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "stopping": self._stopping.is_set(),
                "processes": {name: attrs.asdict(child) for name, child in self.children.items()}}

    def _changed(self) -> None:
        if self.status_path is None:
            return
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.status(), indent=1))
        os.replace(tmp, self.status_path)

    # ---- lifecycle ---------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> bool:
        """Run until :meth:`request_stop`; True if every child stopped with exit code 0."""
        async with trio.open_nursery() as nursery:
            for name in self.processes:
                nursery.start_soon(self._keep_running, name)
            self._changed()
            task_status.started()
        self._changed()
        return self.clean

    async def run_until_signalled(self) -> bool:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_signals, nursery.cancel_scope)
            clean = await self.run()
            nursery.cancel_scope.cancel()
        return clean

    async def _watch_signals(self, cancel_scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if not self._stopping.is_set():
                    log.info("up: received %s: stopping every process", signal.Signals(signum).name)
                    self.request_stop()
                else:
                    log.warning("up: received %s again: killing every process now",
                                signal.Signals(signum).name)
                    for name, proc in list(self._procs.items()):
                        self._kill_group(name, proc, signal.SIGKILL)

    async def _keep_running(self, name: str) -> None:
        child = self.children[name]
        delay = self.backoff_s
        while not self._stopping.is_set():
            child.state = "starting"
            argv = self.argv_for(name)
            try:
                proc = await trio.lowlevel.open_process(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, env=self.env, cwd=self.cwd)
            except OSError as exc:
                log.error("up: cannot start process %s (%s): %s", name, argv[0], exc)
                child.state, child.last_exit = "failed", f"cannot start: {exc}"
                self._changed()
                return
            self._procs[name] = proc
            started = trio.current_time()
            child.pid, child.state, child.started_at = proc.pid, "running", time.time()
            log.info("up: process %s started (pid %d)%s", name, proc.pid,
                     f", restart {child.restarts}" if child.restarts else "")
            self._changed()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._forward_output, name, proc.stdout)
                nursery.start_soon(self._stop_when_asked, name, proc)
                returncode = await proc.wait()
                nursery.cancel_scope.cancel()
            del self._procs[name]
            up_s = trio.current_time() - started
            child.pid, child.last_exit = None, describe_exit(returncode)
            if self._stopping.is_set():
                child.state = "stopped"
                if returncode != 0:
                    self.clean = False
                log.info("up: process %s stopped (%s)", name, child.last_exit)
                self._changed()
                return
            if returncode == EXIT_INVALID_CONFIG:
                child.state = "failed"
                log.error("up: process %s exited with code 2 (invalid config or placement): not "
                          "restarting it; fix the config and run `mevbot up` again", name)
                self._changed()
                return
            if up_s >= self.stable_after_s:
                delay = self.backoff_s
            child.restarts += 1
            child.state, child.next_start_in_s = "backoff", delay
            log.warning("up: process %s died (%s) after %.1f s; restarting in %.2f s (restart %d)",
                        name, child.last_exit, up_s, delay, child.restarts)
            self._changed()
            with trio.move_on_after(delay):
                await self._stopping.wait()
            delay = min(delay * 2, self.backoff_max_s)
        child.state = "stopped"
        self._changed()

    async def _forward_output(self, name: str, stream: trio.abc.ReceiveStream) -> None:
        prefix = f"[{name}] ".encode()
        pending = b""
        try:
            async for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if lines:
                    self.output.write(b"".join(prefix + line + b"\n" for line in lines))
                    self.output.flush()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            if pending:
                self.output.write(prefix + pending + b"\n")
                self.output.flush()

    async def _stop_when_asked(self, name: str, proc: trio.Process) -> None:
        await self._stopping.wait()
        self.children[name].state = "stopping"
        self._changed()
        self._kill_group(name, proc, signal.SIGTERM)
        await trio.sleep(self.shutdown_deadline_s)
        log.error("up: process %s still running %g s after SIGTERM: killing it", name,
                  self.shutdown_deadline_s)
        self.clean = False
        self._kill_group(name, proc, signal.SIGKILL)

    @staticmethod
    def _kill_group(name: str, proc: trio.Process, signum: int) -> None:
        if proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            log.error("up: cannot signal process %s (pid %d): %s", name, proc.pid, exc)
