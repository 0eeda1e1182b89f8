"""The smart router's decisions (pure logic, no I/O): which transport links two processes.

Placement comes from [deploy]: modules -> process -> host -> endpoints. For a publisher and a
subscriber the choice is: same process -> memory (delivered in-process, nothing serialised);
same host -> the peer's Unix socket; other host -> the peer's TCP endpoint. Between two
processes exactly one side dials (the lexicographically smaller name) so each pair has one
link; the link carries both directions. Large frames and fast-lane overflow go to a second
"bulk" connection on the same transport (see mevbot/bus/link.py).
"""

from __future__ import annotations

import os

import attrs

from mevbot.bus.errors import PlacementError
from mevbot.bus.settings import DeploySettings

#: Modules that may run in several processes at once, each instance with its own shard set by
#: a per-process override ([deploy.processes.<name>] overrides = ["scanner.shard=0/2"]); see
#: mevbot/deploy/shard.py. The shards' coverage is checked by mevbot/deploy/placement.py.
REPLICABLE_MODULES = {"scanner": "scanner.shard"}


def process_override(proc, key: str) -> str | None:
    """The value a process's ``overrides`` give ``key`` (``section.key``), if any (last wins)."""
    found = None
    for text in proc.overrides:
        name, sep, value = text.partition("=")
        if sep and name.strip().lower() == key:
            found = value.strip()
    return found


@attrs.frozen
class Route:
    peer: str  # the other process
    transport: str  # "memory", "unix" or "tcp"
    address: str  # where the dialling side connects
    dial: bool  # True when this process connects; False when it waits for the peer
    reason: str


def unix_path(deploy: DeploySettings, process: str) -> str:
    return deploy.processes[process].unix or os.path.join("run", f"bus-{process}.sock")


def process_of(deploy: DeploySettings, module: str) -> str:
    """The process a module runs in; modules not placed anywhere run in the current process."""
    for name, proc in deploy.processes.items():
        if module in proc.modules:
            return name
    return deploy.process


def check_placement(deploy: DeploySettings) -> None:
    problems = []
    seen: dict[str, str] = {}
    for name, proc in deploy.processes.items():
        if proc.host not in deploy.hosts:
            problems.append(f"deploy.processes.{name}.host: {proc.host!r} is not a key of "
                            f"[deploy.hosts] (have {sorted(deploy.hosts)})")
        for module in proc.modules:
            sharded = module in REPLICABLE_MODULES and all(
                process_override(deploy.processes[p], REPLICABLE_MODULES[module]) is not None
                for p in (name, seen.get(module, name)))
            if module in seen and not sharded:
                hint = (f" (several instances need a per-process "
                        f"'{REPLICABLE_MODULES[module]}=i/n' in overrides)" if module in REPLICABLE_MODULES else "")
                problems.append(f"deploy.processes.{name}.modules: {module!r} is already placed "
                                f"in process {seen[module]!r}{hint}")
            seen.setdefault(module, name)
    hosts_of_tcp = {p.host for p in deploy.processes.values()}
    if len(hosts_of_tcp) > 1:
        for name, proc in deploy.processes.items():
            if not proc.tcp:
                problems.append(f"deploy.processes.{name}.tcp: required (host:port) because "
                                "processes run on more than one host")
        if len(deploy.secret.encode()) < 16:
            problems.append("deploy.secret: at least 16 bytes are required for the TCP handshake")
    if deploy.processes and deploy.process not in deploy.processes:
        problems.append(f"deploy.process: {deploy.process!r} is not a key of [deploy.processes] "
                        f"(have {sorted(deploy.processes)})")
    if problems:
        raise PlacementError("invalid placement: " + "; ".join(problems))


def websocket_problems(deploy: DeploySettings) -> list[str]:
    """The monitoring websocket may listen beyond loopback only behind a token (a config rule:
    DeploySettings.config_problems; the bus checks it again before it listens)."""
    if not deploy.websocket or deploy.websocket_token:
        return []
    host = deploy.websocket.rpartition(":")[0].strip("[]")
    if host in ("localhost", "") or host.startswith("127.") or host == "::1":
        return []
    return [f"deploy.websocket_token: required because the monitoring websocket listens on "
            f"{deploy.websocket!r}, beyond loopback (anyone who reaches it could read the bus)"]


def pick_transport(deploy: DeploySettings, a: str, b: str) -> tuple[str, str]:
    """(transport, reason) for messages between processes ``a`` and ``b``."""
    if a == b:
        return "memory", f"{a} and {b} are the same process"
    host_a, host_b = deploy.processes[a].host, deploy.processes[b].host
    if host_a == host_b:
        return "unix", f"{a} and {b} share host {host_a!r}"
    return "tcp", f"{a} is on host {host_a!r}, {b} on host {host_b!r}"


def transport_between_modules(deploy: DeploySettings, publisher: str, subscriber: str) -> str:
    return pick_transport(deploy, process_of(deploy, publisher), process_of(deploy, subscriber))[0]


def plan_routes(deploy: DeploySettings, process: str | None = None) -> list[Route]:
    """The links the given process (default: this one) has to every other process."""
    process = process or deploy.process
    if not deploy.processes:
        return []
    check_placement(deploy)
    routes = []
    for peer in sorted(deploy.processes):
        if peer == process:
            continue
        transport, reason = pick_transport(deploy, process, peer)
        dial = process < peer
        target = peer if dial else process
        address = unix_path(deploy, target) if transport == "unix" else deploy.processes[target].tcp
        routes.append(Route(peer, transport, address, dial, reason))
    return routes


def listen_endpoints(deploy: DeploySettings, process: str | None = None) -> list[tuple[str, str]]:
    """(transport, address) this process must listen on for the peers that dial it."""
    process = process or deploy.process
    needed = {(r.transport, r.address) for r in plan_routes(deploy, process) if not r.dial}
    return sorted(needed)
