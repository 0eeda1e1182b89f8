"""The pool registry's exceptions."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the pool registry's errors."""


class ManifestError(RegistryError):
    """The deployment manifest lacks a field or has one of the wrong shape."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"manifest {where}: {problem}")


class DiscoveryError(RegistryError):
    """A chain read during pool discovery returned nothing usable."""

    def __init__(self, contract: str, call: str, problem: str) -> None:
        self.contract = contract
        self.call = call
        self.problem = problem
        super().__init__(f"{call} on {contract}: {problem}")


class PoolFetchError(Exception):
    """Reading a pool's state from the chain failed or returned data of the wrong shape."""

    def __init__(self, pool: str, problem: str) -> None:
        self.pool = pool
        self.problem = problem
        super().__init__(f"pool {pool}: {problem}")
