"""The whole configuration: one section per module plus [log], [runtime], [control] and [bus].

Each section's class lives beside the code that reads it (``mevbot/<pkg>/settings.py``); this
module only composes them, so that adding a key never touches another package.
"""

from __future__ import annotations

import attrs

from mevbot.bus.settings import BusSettings, DeploySettings
from mevbot.control.settings import ControlSettings
from mevbot.devnet.settings import DevnetSettings
from mevbot.execution.settings import ExecutionSettings
from mevbot.feed.settings import MonitorSettings
from mevbot.observability.settings import ObservabilitySettings
from mevbot.parser.settings import ParserSettings
from mevbot.pools.settings import PipelineSettings
from mevbot.risk.settings import RiskSettings
from mevbot.rpc.settings import RpcSettings
from mevbot.runtime.settings import LogSettings, RuntimeSettings
from mevbot.scanner.settings import ScannerSettings
from mevbot.store.settings import StoreSettings


@attrs.frozen
class Config:
    log: LogSettings = attrs.field(factory=LogSettings)
    runtime: RuntimeSettings = attrs.field(factory=RuntimeSettings)
    control: ControlSettings = attrs.field(factory=ControlSettings)
    bus: BusSettings = attrs.field(factory=BusSettings)
    rpc: RpcSettings = attrs.field(factory=RpcSettings)
    devnet: DevnetSettings = attrs.field(factory=DevnetSettings)
    monitor: MonitorSettings = attrs.field(factory=MonitorSettings)
    parser: ParserSettings = attrs.field(factory=ParserSettings)
    pipeline: PipelineSettings = attrs.field(factory=PipelineSettings)
    scanner: ScannerSettings = attrs.field(factory=ScannerSettings)
    execution: ExecutionSettings = attrs.field(factory=ExecutionSettings)
    risk: RiskSettings = attrs.field(factory=RiskSettings)
    store: StoreSettings = attrs.field(factory=StoreSettings)
    observability: ObservabilitySettings = attrs.field(factory=ObservabilitySettings)
    deploy: DeploySettings = attrs.field(factory=DeploySettings)
