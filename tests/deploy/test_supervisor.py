"""The supervisor of `mevbot up` with small real child processes (no bot): restarts with backoff,
no retry of exit code 2, SIGTERM then SIGKILL at the deadline, output forwarded with a prefix."""

from __future__ import annotations

import io
import json
import sys

import trio

from mevbot.deploy.supervisor import Supervisor

PY = sys.executable


class Output(io.BytesIO):
    def text(self) -> str:
        return self.getvalue().decode()


async def wait_for(condition, timeout_s: float = 10.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.01)  # polling child processes' state with a deadline


async def test_a_dying_child_is_restarted_with_doubling_delays_and_exit_2_is_not_retried(tmp_path):
    counter = tmp_path / "starts"
    script = f"""
import pathlib, sys
p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n))
print("start", n, flush=True)
sys.exit(2 if n == 4 else 3)
"""
    output = Output()
    sup = Supervisor(["flaky"], lambda name: [PY, "-c", script], backoff_s=0.05, backoff_max_s=0.15,
                     stable_after_s=60, status_path=tmp_path / "up.json", output=output)
    with trio.fail_after(20):
        started = trio.current_time()
        clean = await sup.run()  # returns once its only child stays failed
    child = sup.children["flaky"]
    assert (child.state, child.restarts, child.last_exit) == ("failed", 3, "exit code 2")
    assert counter.read_text() == "4"
    assert trio.current_time() - started >= 0.05 + 0.1 + 0.15  # 0.05, doubled, then capped
    assert [line for line in output.text().splitlines()] == [f"[flaky] start {n}" for n in range(1, 5)]
    status = json.loads((tmp_path / "up.json").read_text())
    assert status["processes"]["flaky"]["state"] == "failed" and clean


async def test_stop_sends_sigterm_and_kills_a_child_that_ignores_it_at_the_deadline(tmp_path):
    polite = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); print('up', flush=True); time.sleep(60)"
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    output = Output()
    sup = Supervisor(["polite", "stubborn"], lambda name: [PY, "-c", polite if name == "polite" else stubborn],
                     shutdown_deadline_s=0.5, output=output)
    async with trio.open_nursery() as nursery:
        done = []

        async def run():
            done.append(await sup.run())
        nursery.start_soon(run)
        await wait_for(lambda: output.text().count("up\n") == 2)
        assert {c.state for c in sup.children.values()} == {"running"}
        with trio.fail_after(10):
            sup.request_stop()
            while not done:
                await trio.sleep(0.01)
    assert done == [False]  # one child had to be killed: not a clean stop
    assert sup.children["polite"].last_exit == "exit code 0"
    assert sup.children["stubborn"].last_exit == "killed by SIGKILL"
    assert {c.state for c in sup.children.values()} == {"stopped"}


async def test_a_child_that_cannot_be_started_is_failed_with_the_reason(tmp_path):
    sup = Supervisor(["ghost"], lambda name: [str(tmp_path / "no-such-program")], output=Output())
    with trio.fail_after(10):
        await sup.run()
    child = sup.children["ghost"]
    assert child.state == "failed" and "cannot start" in child.last_exit and "no-such-program" in child.last_exit


def test_a_bot_whose_supervisor_is_killed_with_sigkill_stops_by_itself(tmp_path):
    """`mevbot run --process` under a supervisor that dies (kill -9) notices and exits by itself."""
    import os
    import signal
    import subprocess
    import time

    from .procs import MEVBOT, ROOT, base_config, children_of, pid_alive, placement_toml

    (tmp_path / "config.toml").write_text(base_config(tmp_path) + f'\n[store]\npath = "{tmp_path / "s.sqlite"}"\n'
                                          + placement_toml(tmp_path, {"solo": ["store"]}))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    up = subprocess.Popen([*MEVBOT, "up", "--config", str(tmp_path / "config.toml")], cwd=tmp_path, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not children_of(up.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the child process, with a deadline
        (child,) = children_of(up.pid)
        time.sleep(0.5)  # let the child get past its imports (it reads its parent at start-up)
        os.kill(up.pid, signal.SIGKILL)
        up.wait()
        deadline = time.monotonic() + 20
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the orphan's exit, with a deadline
        assert not pid_alive(child), "the bot outlived its supervisor"
    finally:
        for pid in children_of(up.pid) if up.poll() is None else ():
            os.kill(pid, signal.SIGKILL)
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
