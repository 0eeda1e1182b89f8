"""`mevbot ctl dlq ...` and `ctl routes` against a real `mevbot run` process and a real bus peer.

The bot runs as ``mevbot run --process main`` of a two-process placement (``edge`` on the same
host, which dials ``main``'s Unix bus socket), with only the store module so no devnet is needed. The test
plays ``edge`` with the real Unix transport and codec: it says Hello, publishes a breaker trip
the store subscribes to, then sends what a broken or late peer sends: a garbage frame
(dead-lettered as undecodable, the link keeps reading) and a reply to a request the bot never
made (dead-lettered as undeliverable, with its envelope, so replayable).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import trio

import mevbot.config  # noqa: F401  (import order: see tests/bus/conftest.py)
from mevbot.bus.catalog import register_all
from mevbot.bus.codec import Codec
from mevbot.bus.envelope import make_envelope
from mevbot.bus.protocol import LINK_TOPIC, Hello
from mevbot.bus.registry import MESSAGES
from mevbot.risk.breakers import BreakerTrip
from transports.unix import UnixTransport

MEVBOT = str(Path(sys.executable).parent / "mevbot")
GARBAGE = b"\xb5not an envelope, sent by a broken peer"


@pytest.fixture
def workdir():
    # Short paths: a Unix socket path must fit in 107 bytes, which tmp_path may not.
    with tempfile.TemporaryDirectory(prefix="mbbus") as name:
        yield Path(name)


def write_config(workdir: Path) -> Path:
    run = workdir / "run"
    path = workdir / "config.toml"
    path.write_text(f"""
[log]
level = "INFO"

[runtime]
watch_config = false
shutdown_deadline_s = 5.0

[control]
socket_path = "{run / 'bot-{process}.sock'}"

[bus]
persist_path = "{run / 'bus-{process}.sqlite'}"

[store]
path = "{run / 'store.sqlite'}"

[deploy]
peer_timeout_s = 60.0

[deploy.processes.main]
modules = ["store"]
unix = "{run / 'bus-main.sock'}"

[deploy.processes.edge]
modules = ["observability"]
""")
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}


async def ctl(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    with trio.fail_after(30):
        return await trio.run_process([MEVBOT, "ctl", "--socket", str(workdir / "run" / "bot-main.sock"), *args],
                                      cwd=workdir, env=clean_env(), capture_stdout=True,
                                      capture_stderr=True, check=False)


async def ctl_json(workdir: Path, *args: str) -> dict:
    done = await ctl(workdir, "--json", *args)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


async def wait_until(condition, what: str, log_path: Path, timeout_s: float = 20.0):
    """Poll a real condition (a reply from the bot) with a deadline."""
    with trio.move_on_after(timeout_s):
        while True:
            found = await condition()
            if found:
                return found
            await trio.sleep(0.05)
    raise AssertionError(f"{what} within {timeout_s}s; bot log:\n{log_path.read_text(errors='replace')}")


async def test_dead_letters_from_a_real_peer_are_listed_replayed_and_purged_and_routes_count_them(workdir):
    config = write_config(workdir)
    log_path = workdir / "bot.log"
    with open(log_path, "wb") as log:
        bot = subprocess.Popen([MEVBOT, "run", "--config", str(config), "--process", "main"],
                               cwd=workdir, env=clean_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        async def ready():
            assert bot.poll() is None, f"bot exited early:\n{log_path.read_text()}"
            if not (workdir / "run" / "bot-main.sock").exists():
                return None
            done = await ctl(workdir, "--json", "status")
            # degraded, not ok: its health names the peer 'edge' this test plays until it links
            return done.returncode == 0 and json.loads(done.stdout)["health"]["state"] in ("ok", "degraded")

        await wait_until(ready, "bot not ready", log_path)
        register_all()
        codec = Codec(MESSAGES)
        transport = UnixTransport()
        stream = await transport.connect(str(workdir / "run" / "bus-main.sock"))
        async with stream:
            def frame(topic, payload, **fields):
                tag, version = MESSAGES.for_class(type(payload)).tag, MESSAGES.for_class(type(payload)).version
                return codec.encode(make_envelope(topic, payload, tag, version, "edge", **fields))

            await stream.send_batch([frame(LINK_TOPIC, Hello("edge", "fast", []))])
            with trio.fail_after(10):
                (bots_hello, *_) = await stream.receive_batch()
            hello = codec.decode(bots_hello).payload
            assert hello.process == "main" and "risk.breaker" in hello.patterns
            await stream.send_batch([
                frame("risk.breaker", BreakerTrip("e2e", 1.0, None)),
                GARBAGE,
                frame("_inbox.main", BreakerTrip("late", 2.0, None), correlation_id=424242),
            ])

            async def two_letters():
                reply = await ctl_json(workdir, "dlq", "list")
                return reply if reply["stats"]["queued"] == 2 else None

            listed = await wait_until(two_letters, "two dead letters not listed", log_path)
            garbage, late = listed["letters"]
            assert garbage["reason"].startswith("undecodable: ") and garbage["replayable"] is False
            assert garbage["origin"] == "link:edge/fast" and garbage["raw_bytes"] == len(GARBAGE)
            assert late["reason"].startswith("undeliverable: reply 424242 arrived after its request")
            assert late["topic"] == "_inbox.main" and late["source"] == "edge" and late["replayable"]

            text = await ctl(workdir, "dlq", "list")
            assert text.returncode == 0, text.stderr.decode()
            out = text.stdout.decode()
            assert "dead letters: 2 queued, 2 since start" in out
            assert "undecodable 1" in out and "undeliverable 1" in out
            row = next(line for line in out.splitlines() if line.startswith(f"{garbage['seq']} "))
            assert "link:edge/fast" in row and f"raw {len(GARBAGE)} B" in row and "undecodable: " in row
            assert (await ctl_json(workdir, "dlq", "list", "--topic", "_inbox.main"))["matching"] == 1

            routes = await ctl_json(workdir, "routes")
            edge = next(r for r in routes["routes"] if r["peer"] == "edge")
            assert edge["transport"] == "unix" and "share host 'local'" in edge["reason"]
            fast = edge["lanes"]["fast"]
            assert fast["connected"] and fast["received"] == 3 and fast["sessions"] == 1
            local = routes["routes"][0]
            breaker = next(s for s in local["subscriptions"] if s["pattern"] == "risk.breaker")
            assert breaker["delivered"] == 1  # the store took the well-formed message
            routes_text = (await ctl(workdir, "routes")).stdout.decode()
            edge_row = next(line for line in routes_text.splitlines() if line.startswith("edge "))
            assert edge_row.split()[1:] == ["unix", str(workdir / "run" / "bus-main.sock"), "fast", "up",
                                            str(fast["sent"]), "3", str(fast["batches"]), "0", "0", "1"]
            assert "store:risk.breaker" in routes_text

            # The late reply is republished: still nobody waits for it, so it comes back as a
            # new letter; the undecodable frame cannot be replayed and stays.
            replayed = await ctl(workdir, "dlq", "replay")
            assert replayed.returncode == 0
            assert "replayed 1 dead letter(s)" in replayed.stdout.decode()
            assert f"seq {garbage['seq']}" in replayed.stdout.decode()
            after = await ctl_json(workdir, "dlq", "list")
            assert [letter["seq"] for letter in after["letters"]][0] == garbage["seq"]
            assert after["letters"][1]["id"] == late["id"] and after["letters"][1]["seq"] > late["seq"]

            refused = await ctl(workdir, "dlq", "list", "--limit", "-5")
            assert refused.returncode == 1 and "'limit' must be a non-negative int" in refused.stderr.decode()
            purged = await ctl(workdir, "dlq", "purge", "--id", str(garbage["seq"]))
            assert "purged 1 dead letter(s)" in purged.stdout.decode()
            assert (await ctl_json(workdir, "dlq", "purge"))["purged"] == 1
            empty = await ctl_json(workdir, "dlq", "list")
            assert empty["letters"] == [] and empty["stats"]["queued"] == 0
            assert empty["stats"]["total"] == 3  # the counters keep the history
            assert "no dead letters match" in (await ctl(workdir, "dlq", "list")).stdout.decode()

            # the link survived all of it: the bot still reads what edge sends
            await stream.send_batch([frame("risk.breaker", BreakerTrip("again", 3.0, None))])

            async def delivered_twice():
                subs = (await ctl_json(workdir, "routes"))["routes"][0]["subscriptions"]
                return next(s for s in subs if s["pattern"] == "risk.breaker")["delivered"] == 2

            await wait_until(delivered_twice, "the link stopped reading after the bad frames", log_path)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=15) == 0
        assert "undecodable" in log_path.read_text()  # the dead letter was logged
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
