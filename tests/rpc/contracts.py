"""Contracts the rpc tests put on a plain anvil: WETH9 (its deposit emits Deposit) and a
hand-assembled one that always reverts with ``Error("boom")``."""

from __future__ import annotations

import json
from pathlib import Path

import eth_abi
import trio
from eth_utils import keccak

from mevbot.rpc.client import RpcClient
from tests.fixtures.anvil import DEV_ACCOUNT

WETH9_ARTIFACT = (Path(__file__).resolve().parents[2] / "node_modules" / "@uniswap" /
                  "v2-periphery" / "build" / "WETH9.json")
DEPOSIT_TOPIC = keccak(text="Deposit(address,uint256)")
DEPOSIT_SELECTOR = keccak(text="deposit()")[:4]

REVERT_REASON = "boom"
REVERT_PAYLOAD = keccak(text="Error(string)")[:4] + eth_abi.encode(["string"], [REVERT_REASON])
# CODECOPY the payload that follows this 12-byte prologue to memory 0, then REVERT with it.
_PROLOGUE = bytes([0x60, len(REVERT_PAYLOAD), 0x60, 12, 0x60, 0, 0x39,
                   0x60, len(REVERT_PAYLOAD), 0x60, 0, 0xFD])
REVERTER_RUNTIME = _PROLOGUE + REVERT_PAYLOAD


async def wait_receipt(rpc: RpcClient, tx_hash: str, deadline_s: float = 10.0) -> dict:
    """Poll for the receipt: anvil's automining answers the send before the block is sealed."""
    with trio.fail_after(deadline_s):
        while (receipt := await rpc.get_transaction_receipt(tx_hash)) is None:
            await trio.sleep(0.01)
    return receipt


async def deploy_weth9(rpc: RpcClient) -> str:
    bytecode = json.loads(WETH9_ARTIFACT.read_text())["bytecode"]
    tx_hash = await rpc.call("eth_sendTransaction", [{"from": DEV_ACCOUNT, "data": "0x" + bytecode.removeprefix("0x")}])
    receipt = await wait_receipt(rpc, tx_hash)
    return receipt["contractAddress"]


async def deposit(rpc: RpcClient, weth: str, wei: int) -> str:
    """Send WETH9.deposit() from the dev account; returns the tx hash."""
    return await rpc.call("eth_sendTransaction", [{"from": DEV_ACCOUNT, "to": weth, "value": hex(wei),
                                                   "data": "0x" + DEPOSIT_SELECTOR.hex()}])


async def install_reverter(rpc: RpcClient, address: str = "0x" + "ee" * 20) -> str:
    await rpc.call("anvil_setCode", [address, "0x" + REVERTER_RUNTIME.hex()])
    return address
