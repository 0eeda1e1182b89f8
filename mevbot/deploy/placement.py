"""Placement checks and per-process views of a [deploy] placement (pure logic but for host lookup).

A placement maps modules to processes and processes to hosts. :func:`deployment_problems` checks
everything a deployment needs beyond the router's own checks (known module names, every module
placed at most once except sharded scanners, shards that cover 0..n-1 exactly once, a control
socket per process). :func:`process_overrides` is what makes one config file serve every process:
the overrides `mevbot run --process NAME` applies on top of the file (its own ``overrides``,
``deploy.process``, its own control socket).
"""

from __future__ import annotations

import os
import socket
from collections import defaultdict
from typing import Any

import attrs

from mevbot.bus.errors import PlacementError
from mevbot.bus.router import REPLICABLE_MODULES, check_placement, plan_routes, process_override
from mevbot.bus.settings import DeploySettings
from mevbot.deploy.errors import ShardError, UnknownHostError, UnknownProcessError
from mevbot.deploy.shard import parse_shard

PROCESS_PLACEHOLDER = "{process}"


def process_names(deploy: DeploySettings) -> list[str]:
    return sorted(deploy.processes)


def modules_of(deploy: DeploySettings, process: str) -> list[str]:
    """The modules placed in ``process``; UnknownProcessError names the known ones."""
    if not deploy.processes:
        raise UnknownProcessError(f"--process {process!r}: the config places no processes "
                                  "(add [deploy.processes.<name>] tables; see docs/deployment.md)")
    proc = deploy.processes.get(process)
    if proc is None:
        raise UnknownProcessError(f"--process {process!r} is not a key of [deploy.processes] "
                                  f"(have {', '.join(process_names(deploy))})")
    return list(proc.modules)


def modules_elsewhere(deploy: DeploySettings, process: str) -> list[str]:
    mine = set(modules_of(deploy, process))
    return sorted({m for p in deploy.processes.values() for m in p.modules} - mine)


def processes_on_host(deploy: DeploySettings, host: str) -> list[str]:
    if host not in deploy.hosts:
        raise UnknownHostError(f"host {host!r} is not a key of [deploy.hosts] "
                               f"(have {', '.join(sorted(deploy.hosts))})")
    return [name for name in process_names(deploy) if deploy.processes[name].host == host]


def _is_local_address(address: str) -> bool:
    """Whether this machine (this network namespace) owns ``address``: binding to it succeeds."""
    try:
        infos = socket.getaddrinfo(address, 0, type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, kind, proto, _, sockaddr in infos:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.bind((sockaddr[0], 0))
            return True
        except OSError:
            continue
    return False


def this_host(deploy: DeploySettings, requested: str | None = None) -> str:
    """The host `mevbot up` runs for: ``requested``, else the only host with processes, else the
    one host whose address belongs to this machine."""
    if requested is not None:
        processes_on_host(deploy, requested)  # validates the name
        return requested
    used = sorted({p.host for p in deploy.processes.values()})
    if len(used) == 1:
        return used[0]
    local = [h for h in used if _is_local_address(deploy.hosts[h].address)]
    if len(local) == 1:
        return local[0]
    which = "none" if not local else ", ".join(local)
    raise UnknownHostError(f"cannot tell which host of [deploy.hosts] this machine is (addresses "
                           f"of this machine: {which}); pass --host NAME (one of {', '.join(used)})")


def control_socket_for(path: str, process: str) -> str:
    """Each process serves its own control socket: ``{process}`` in [control] socket_path is
    replaced by the name, or ``-<name>`` is added before the extension (run/mevbot-hot.sock)."""
    if PROCESS_PLACEHOLDER in path:
        return path.replace(PROCESS_PLACEHOLDER, process)
    root, ext = os.path.splitext(path)
    return f"{root}-{process}{ext}"


def process_overrides(config: Any, process: str) -> list[str]:
    """The overrides that turn the shared config into ``process``'s config (flags go after)."""
    modules_of(config.deploy, process)
    proc = config.deploy.processes[process]
    return [*proc.overrides, f"deploy.process={process}",
            f"control.socket_path={control_socket_for(config.control.socket_path, process)}"]


def scanner_shards(config: Any) -> dict[str, str]:
    """process -> its scanner shard text, for every process that runs a scanner."""
    shards = {}
    for name in process_names(config.deploy):
        proc = config.deploy.processes[name]
        if "scanner" in proc.modules:
            shards[name] = process_override(proc, REPLICABLE_MODULES["scanner"]) or config.scanner.shard
    return shards


def shard_problems(config: Any) -> list[str]:
    shards = scanner_shards(config)
    if not config.deploy.processes:
        try:
            index, count = parse_shard(config.scanner.shard)
        except ShardError as exc:
            return [f"scanner.shard: {exc}"]
        return [] if count == 1 else [f"scanner.shard: {config.scanner.shard!r} in a monolithic "
                                      f"config evaluates only 1/{count} of the cycles"]
    problems = []
    parsed: dict[str, tuple[int, int]] = {}
    for name, text in shards.items():
        try:
            parsed[name] = parse_shard(text)
        except ShardError as exc:
            problems.append(f"deploy.processes.{name}: {exc}")
    if problems or not parsed:
        return problems
    counts = {n for _, n in parsed.values()}
    if len(counts) > 1:
        return ["scanner shards disagree on the number of shards: "
                + ", ".join(f"{p}={i}/{n}" for p, (i, n) in sorted(parsed.items()))]
    (count,) = counts
    owners: dict[int, list[str]] = defaultdict(list)
    for name, (index, _) in parsed.items():
        owners[index].append(name)
    for index in range(count):
        if not owners.get(index):
            problems.append(f"scanner shard {index}/{count} is run by no process: its cycles "
                            "would never be evaluated")
        elif len(owners[index]) > 1:
            problems.append(f"scanner shard {index}/{count} is run by {', '.join(owners[index])}: "
                            "their opportunities would be found twice")
    return problems


def deployment_problems(config: Any) -> list[str]:
    """Every problem of the placement in ``config`` (empty when it can be deployed)."""
    from mevbot.runtime.registry import MODULES

    deploy = config.deploy
    problems = []
    try:
        # deploy.process names the process being run; a whole-placement check has none of its own
        if deploy.processes and deploy.process not in deploy.processes:
            deploy = attrs.evolve(deploy, process=min(deploy.processes))
        check_placement(deploy)
    except PlacementError as exc:
        problems.extend(str(exc).removeprefix("invalid placement: ").split("; "))
    for name in process_names(deploy):
        proc = deploy.processes[name]
        if not proc.modules:
            problems.append(f"deploy.processes.{name}.modules: empty (a process runs at least one module)")
        for module in proc.modules:
            if module not in MODULES:
                problems.append(f"deploy.processes.{name}.modules: unknown module {module!r} "
                                f"(known: {', '.join(MODULES)})")
        for text in proc.overrides:
            if "=" not in text or "." not in text.partition("=")[0]:
                problems.append(f"deploy.processes.{name}.overrides: {text!r} is not 'section.key=value'")
    problems.extend(shard_problems(config))
    if deploy.processes:
        sockets = defaultdict(list)
        for name in process_names(deploy):
            sockets[(deploy.processes[name].host,
                     control_socket_for(config.control.socket_path, name))].append(name)
        for (host, path), names in sockets.items():
            if len(names) > 1:
                problems.append(f"control.socket_path: processes {', '.join(names)} on host {host!r} "
                                f"would share {path}")
    return problems


def expected_peers(deploy: DeploySettings, process: str) -> dict[str, str]:
    """peer -> how this process reaches it (or how it reaches us), for start-up checks and logs."""
    peers = {}
    for route in plan_routes(deploy, process):
        where = f"{route.transport} {route.address}"
        peers[route.peer] = f"we dial {where}" if route.dial else f"it dials us at {where}"
    return peers
