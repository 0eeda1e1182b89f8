"""Start-up check of a distributed process's peers: every peer connects in time, or is named.

The bus dials (or waits for) every peer process on its own and keeps redialling; this check
only watches those links. A peer still down after a moment is named in a warning (and in the
``peers`` control command), and one that never connects within [deploy] peer_timeout_s raises
:class:`PeerUnreachable`, which stops the process with exit code 1 (under `mevbot up` it is
then restarted with backoff).

After start-up, :func:`peers_health` is part of the process's health (`mevbot ctl status`, `mevbot
up --status`, the dashboard): degraded while any peer is not connected, naming each one, whether
it never connected or was lost, and how this process reaches it; ok again once it is back.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from mevbot.bus.link import FAST
from mevbot.deploy.errors import PeerUnreachable

log = logging.getLogger("mevbot.deploy")

GRACE_S = 1.0  # a peer that is merely slower than us to start is not worth a warning
POLL_S = 0.05


def is_connected(bus: Any, peer: str) -> bool:
    link = bus.links.get(peer)
    return link is not None and link.lanes[FAST].connected


def peers_health(bus: Any, expected: dict[str, str]):
    """The health the links to ``expected`` (peer -> where) give this process."""
    from mevbot.runtime.module import Health, HealthState

    down = []
    for peer, where in sorted(expected.items()):
        if is_connected(bus, peer):
            continue
        link = bus.links.get(peer)
        sessions = link.lanes[FAST].sessions if link is not None else 0
        state = "unreachable: disconnected" if sessions else "unreachable: not connected yet"
        down.append(f"peer {peer!r} {state} ({where})")
    if not down:
        return Health(HealthState.OK, f"{len(expected)} peer(s) connected")
    return Health(HealthState.DEGRADED, "; ".join(down))


def peer_report(bus: Any, expected: dict[str, str]) -> list[dict[str, Any]]:
    return [{"peer": peer, "connected": is_connected(bus, peer), "where": where}
            for peer, where in sorted(expected.items())]


async def await_peers(bus: Any, expected: dict[str, str], *, timeout_s: float,
                      task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Return once every peer in ``expected`` (peer -> where) is connected; else PeerUnreachable."""
    task_status.started()
    if not expected:
        return
    started = trio.current_time()
    warned: set[str] = set()
    with trio.move_on_after(timeout_s):
        while True:
            missing = {p: w for p, w in expected.items() if not is_connected(bus, p)}
            if not missing:
                log.info("bus %s: every peer connected (%s)", bus.process, ", ".join(sorted(expected)))
                return
            if trio.current_time() - started >= GRACE_S:
                for peer in sorted(set(missing) - warned):
                    log.warning("bus %s: peer %r not connected yet (%s); waiting up to %g s",
                                bus.process, peer, missing[peer], timeout_s)
                    warned.add(peer)
            for peer in sorted(warned - set(missing)):
                log.info("bus %s: peer %r connected", bus.process, peer)
                warned.discard(peer)
            await trio.sleep(POLL_S)  # polling the links' state: the bus has no event for it
    missing = {p: w for p, w in expected.items() if not is_connected(bus, p)}
    if missing:
        raise PeerUnreachable(missing, timeout_s)
