"""The executor contract: build it with the pinned npm solc, load it, encode calls to it.

The Solidity source is ``contracts/executor/MevExecutor.sol``. ``mevbot contract build``
(run by ``make install``) compiles it with the npm ``solc`` pinned in package.json and writes
ABI and bytecode to ``build/MevExecutor.json``; the bot loads that file at run time, so no
hand-copied bytecode is ever committed. The build is deterministic: the same source and
compiler give the same bytes (a test compiles twice and compares).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from eth_abi import decode, encode
from eth_utils import keccak

from mevbot.execution.errors import ExecutorBuildError
from mevbot.scanner.opportunity import ArbitrageOpportunity

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = "contracts/executor/MevExecutor.sol"
BUILD_PATH = REPO_ROOT / "build" / "MevExecutor.json"

EXECUTE_SIGNATURE = "execute(address,uint256[],uint256,uint256,bool)"
EXECUTE_SELECTOR = keccak(text=EXECUTE_SIGNATURE)[:4]
EXECUTED_TOPIC = "0x" + keccak(text="Executed(address,uint256,uint256,bool)").hex()

KIND_V2, KIND_V3 = 0, 1

#: The executor's custom errors: selector -> (name, argument names, argument types).
EXECUTOR_ERRORS = {
    keccak(text=f"{name}({','.join(types)})")[:4]: (name, names, types)
    for name, names, types in (
        ("NotOwner", (), ()),
        ("UnexpectedCallback", ("caller",), ("address",)),
        ("NotAGenuinePool", ("pool",), ("address",)),
        ("InsufficientProfit", ("profit", "minProfit"), ("uint256", "uint256")),
        ("BadRoute", ("why",), ("string",)),
        ("TransferFailed", ("token",), ("address",)),
    )
}


def describe_executor_error(data: bytes) -> str | None:
    """``InsufficientProfit(profit=0, minProfit=5)`` for revert data of one of the executor's
    errors; None for anything else."""
    known = EXECUTOR_ERRORS.get(bytes(data[:4]))
    if known is None:
        return None
    name, names, types = known
    try:
        values = decode(list(types), bytes(data[4:])) if types else ()
    except Exception:
        return f"{name}(?)"
    return f"{name}(" + ", ".join(f"{n}={v}" for n, v in zip(names, values)) + ")"


@attrs.frozen
class ExecutorArtifact:
    abi: list[dict[str, Any]]
    bytecode: bytes

    def deploy_data(self, v2_factories: Sequence[str], v3_factories: Sequence[str]) -> bytes:
        return self.bytecode + encode(["address[]", "address[]"], [list(v2_factories), list(v3_factories)])


def compile_executor(root: Path = REPO_ROOT) -> ExecutorArtifact:
    """Compile the executor with the pinned npm solc (needs node and node_modules)."""
    from mevbot.devnet.artifacts import compile_standard_json  # the shared solc toolchain

    contracts = compile_standard_json("solc", {SOURCE: (root / SOURCE).read_text()}, optimizer_runs=10_000, root=root)
    try:
        output = contracts[SOURCE]["MevExecutor"]
        return ExecutorArtifact(output["abi"], bytes.fromhex(output["evm"]["bytecode"]["object"]))
    except KeyError as exc:
        raise ExecutorBuildError(f"solc output has no MevExecutor in {SOURCE}") from exc


def write_build(artifact: ExecutorArtifact, path: Path = BUILD_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"abi": artifact.abi, "bytecode": "0x" + artifact.bytecode.hex(), "source": SOURCE}))
    return path


def load_executor(path: Path = BUILD_PATH) -> ExecutorArtifact:
    """The built executor; a clear error when set-up has not built it yet."""
    try:
        data = json.loads(path.read_text())
        return ExecutorArtifact(data["abi"], bytes.fromhex(data["bytecode"].removeprefix("0x")))
    except FileNotFoundError as exc:
        raise ExecutorBuildError(f"{path} is missing: run `mevbot contract build` (make install does)") from exc
    except (ValueError, KeyError) as exc:
        raise ExecutorBuildError(f"{path} is not a valid executor build ({exc}); rebuild it") from exc


def encode_hop(pool: str, *, v3: bool, zero_for_one: bool, v2_fee_numerator: int = 997) -> int:
    """One hop as the contract reads it (see the contract's notes)."""
    word = int(pool, 16) | (int(zero_for_one) << 160) | ((KIND_V3 if v3 else KIND_V2) << 168)
    if not v3:
        word |= v2_fee_numerator << 176
    return word


def hops_of(opportunity: ArbitrageOpportunity) -> list[int]:
    hops = []
    for hop in opportunity.route:
        zero_for_one = hop.token_in.lower() < hop.token_out.lower()
        if hop.kind == "v3":
            hops.append(encode_hop(hop.pool, v3=True, zero_for_one=zero_for_one))
        else:
            # fee_pips of a V2 hop is its fee in millionths: 3000 -> 997/1000
            hops.append(encode_hop(hop.pool, v3=False, zero_for_one=zero_for_one,
                                   v2_fee_numerator=1000 - hop.fee_pips // 1000))
    return hops


def execute_calldata(opportunity: ArbitrageOpportunity, *, min_profit: int, flash: bool = True) -> bytes:
    return EXECUTE_SELECTOR + encode(
        ["address", "uint256[]", "uint256", "uint256", "bool"],
        [opportunity.start_token, hops_of(opportunity), opportunity.amount_in, min_profit, flash],
    )


@attrs.frozen
class Executed:
    token: str
    amount_in: int
    profit: int
    flash: bool


def executed_events(receipt: dict[str, Any], executor: str) -> list[Executed]:
    """The executor's ``Executed`` events in a receipt: the realised profit of the trade."""
    found = []
    for log in receipt.get("logs", []):
        if str(log.get("address", "")).lower() != executor.lower():
            continue
        topics = log.get("topics") or []
        if not topics or topics[0].lower() != EXECUTED_TOPIC:
            continue
        token = "0x" + topics[1][-40:]
        amount_in, profit, flash = decode(["uint256", "uint256", "bool"], bytes.fromhex(log["data"][2:]))
        found.append(Executed(token, amount_in, profit, flash))
    return found
