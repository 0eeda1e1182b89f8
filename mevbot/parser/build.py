"""Assemble the event parser for a deployment: registry, calldata parser and log parser.

What the parser module needs at start-up, in one call and without I/O beyond the registry's
SQLite file: ``EventParser.from_manifest(manifest, settings)``. The module then feeds it
sequencer-feed transactions (``calldata.parse_feed_transaction``) and logs of
``watched_addresses()`` (``logs.parse``), and publishes what comes out on
``market.swap.intent`` and ``market.pool.update``.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

import attrs

from mevbot.parser.calldata import CalldataParser, routers_from_manifest
from mevbot.parser.logs import LogParser
from mevbot.parser.settings import ParserSettings
from mevbot.pools.registry import PoolRegistry, weth_from_manifest


@attrs.define
class EventParser:
    registry: PoolRegistry
    calldata: CalldataParser
    logs: LogParser

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], settings: ParserSettings | None = None) -> EventParser:
        settings = settings or ParserSettings()
        registry = PoolRegistry.from_manifest(manifest, db_path=settings.registry_db)
        calldata = CalldataParser(registry, routers_from_manifest(manifest), weth=weth_from_manifest(manifest),
                                  max_multicall_depth=settings.max_multicall_depth)
        return cls(registry, calldata, LogParser(registry))

    def watched_addresses(self) -> list[str]:
        """Factories and known pools: the emitters whose logs carry pool updates."""
        return sorted({d.factory for d in self.registry.dexes.values()} | {p.address for p in self.registry.pools()})

    def counters(self) -> dict[str, int]:
        """Both parsers' counters, prefixed ``calldata.`` / ``logs.``, for metrics."""
        out: collections.Counter[str] = collections.Counter()
        for prefix, counter in (("calldata", self.calldata.counters), ("logs", self.logs.counters)):
            for key, value in counter.items():
                out[f"{prefix}.{key}"] = value
        return dict(out)
