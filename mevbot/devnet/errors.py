"""The devnet package's few exception classes.

Every failure a user of `mevbot devnet` can meet ends in a :class:`DevnetError` subclass whose
message says what was wrong, where, and what to do, so the CLI prints one clear line.
"""

from __future__ import annotations


class DevnetError(Exception):
    """Base class of every devnet error."""


class ToolMissing(DevnetError):
    """A required program (node, npm, anvil) is not installed or not on PATH."""


class ChainRpcError(DevnetError):
    """The devnet node answered a JSON-RPC call with an error, or not at all."""

    def __init__(self, method: str, message: str, *, code: int | None = None, data: object = None) -> None:
        detail = f" (code {code})" if code is not None else ""
        super().__init__(f"JSON-RPC {method} failed{detail}: {message}")
        self.method = method
        self.code = code
        self.data = data


class CompileError(DevnetError):
    """solc reported errors compiling the devnet's Solidity sources."""


class DeployError(DevnetError):
    """A deployment step failed: a reverted transaction, or a check of the deployed contracts."""


class InitCodeHashMismatch(DeployError):
    """A periphery contract would compute pool addresses that differ from the deployed pools."""


class ManifestError(DevnetError):
    """A devnet manifest is missing, unreadable, or lacks a key it must have."""


class DevnetNotRunning(DevnetError):
    """`down`/`status`/`traffic` found no devnet running under the given home folder."""
