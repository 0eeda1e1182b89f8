"""The deployment's errors: each names the process, peer or shard that is wrong."""

from __future__ import annotations


class DeployError(Exception):
    """A deployment cannot start as configured."""


class UnknownProcessError(DeployError):
    """`--process NAME` names no process of [deploy.processes]."""


class UnknownHostError(DeployError):
    """`--host NAME` names no host of [deploy.hosts], or none of them is this machine."""


class ShardError(DeployError):
    """A scanner shard is malformed ('i/n' with 0 <= i < n) or the shards do not cover 0..n-1."""


class PeerUnreachable(DeployError):
    """A peer process did not connect within [deploy] peer_timeout_s."""

    def __init__(self, missing: dict[str, str], timeout_s: float) -> None:
        self.missing = missing  # peer -> where it was expected
        self.timeout_s = timeout_s
        names = "; ".join(f"{peer!r} ({where})" for peer, where in sorted(missing.items()))
        super().__init__(f"peer process{'es' if len(missing) > 1 else ''} unreachable after "
                         f"{timeout_s:g} s: {names}")
