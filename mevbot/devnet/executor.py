"""The bot's executor contract on the devnet, owned by the bot's dev account.

`devnet up` deploys it with the rest (so it is part of the saved chain state) and names it in
the manifest (``contracts.executor``, ``accounts.bot``): the demo and `mevbot run` on the devnet
trade through it with ``$MEVBOT_DEVNET_KEY`` set to that account's public test key.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode

from mevbot.devnet import accounts
from mevbot.devnet.chain import Sender
from mevbot.devnet.jsonrpc import SyncChainRpc

BOT_INDEX = 9  # a spare dev account: funded and approved like the others, used by nothing else


def bot_account():
    return accounts.dev_account(BOT_INDEX)


def deploy_executor(rpc: SyncChainRpc, chain_id: int, contracts: dict[str, Any]) -> dict[str, str]:
    """Deploy the executor from the bot account, allowing the devnet's V2, Sushi and V3 factories."""
    from mevbot.execution.contract import compile_executor

    artifact = compile_executor()  # the pinned solc, as `mevbot contract build`
    v2 = [contracts[name]["factory"] for name in ("uniswap_v2", "sushiswap") if name in contracts]
    v3 = [contracts["uniswap_v3"]["factory"]] if "uniswap_v3" in contracts else []
    sender = Sender(rpc, bot_account(), chain_id)
    address = sender.deploy(artifact.bytecode, encode(["address[]", "address[]"], [v2, v3]), what="MevExecutor")
    return {"executor": address, "bot": sender.account.address}
