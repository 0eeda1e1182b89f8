"""Settings of the execution engine ([execution])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class ExecutionSettings:
    enabled: bool = setting(True, doc="Run the execution engine.")
    dry_run: bool = setting(True, doc="Simulate only; never send a transaction.", reloadable=True)
    keystore: str = setting("", doc="Web3 Secret Storage file of the trading key.")
    keystore_password_env: str = setting("MEVBOT_KEYSTORE_PASSWORD", doc="Environment variable holding the keystore password.")
    devnet_key_env: str = setting("MEVBOT_DEVNET_KEY", doc="Environment variable with a plain key (devnet chain id only).")
    priority_fee_wei: int = setting(10_000_000, min=0, doc="EIP-1559 priority fee.", reloadable=True)
    gas_margin_pct: int = setting(20, min=0, max=1000, doc="Margin added to the gas estimate, in percent.", reloadable=True)
    keystore_password_file: str = setting("", doc="File holding the keystore password (instead of the environment variable).")
    executor: str = setting("", doc="Address of the deployed executor contract ('' = the devnet manifest's).")
    sequencer_urls: list[str] = setting(factory=list, pattern=r"(https?|wss?)://", doc="Endpoints every transaction is sent to at once, http(s):// or ws(s):// ('' = [rpc]'s endpoints, its WebSocket first).")
    flash: bool = setting(True, doc="Fund the first hop with a flash swap instead of the executor's balance.", reloadable=True)
    min_profit_share_pct: int = setting(50, min=0, max=100, doc="minProfit passed to the contract, as a share of the expected gross profit.", reloadable=True)
    receipt_timeout_s: float = setting(30.0, gt=0, doc="How long a sent transaction is tracked before it counts as failed.", reloadable=True)
    max_fee_multiplier: int = setting(2, min=1, doc="maxFeePerGas = base fee times this, plus the priority fee.", reloadable=True)
    simulate_pending: bool = setting(False, doc="Also simulate at 'pending', in the same batch as 'latest': for a node with a mempool (the devnet's anvil); Arbitrum's sequencer holds none, so there it only doubles the eth_calls.", reloadable=True)
