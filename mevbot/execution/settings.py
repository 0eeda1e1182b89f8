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
