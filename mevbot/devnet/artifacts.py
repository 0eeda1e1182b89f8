"""Contract creation code, from the pinned npm artifacts or compiled by the pinned npm solc.

Uniswap V2/V3 ship compiled artifacts; we load them as they are. SushiSwap's npm package
(@sushiswap/core) ships Solidity sources and ABIs only, so we compile its factory, pair and
router with solc 0.6.12 from npm (the version its pragmas pin). Sushi's UniswapV2Library hardcodes
the init-code hash of *their* mainnet pair build (0xe18a34eb...); our build of the pair has a
different hash, so we compile the pair first, take keccak256 of its creation code, and compile the
router with the library's constant replaced by that hash: the router then computes the addresses
of the pairs our factory actually deploys. Our own test token (contracts/devnet) is compiled with
solc 0.8 from npm. No bytecode is ever committed.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import attrs
from eth_utils import keccak

from mevbot.devnet.errors import CompileError, DeployError
from mevbot.devnet.toolchain import REPO_ROOT, node_modules, require_program


@attrs.frozen
class Artifact:
    name: str
    bytecode: bytes
    # library name -> byte offsets of 20-byte placeholders to fill with its address
    link_offsets: dict[str, tuple[int, ...]] = attrs.field(factory=dict)

    @property
    def init_code_hash(self) -> bytes:
        return keccak(self.bytecode)

    def linked(self, addresses: dict[str, str]) -> Artifact:
        code = bytearray(self.bytecode)
        for library, offsets in self.link_offsets.items():
            if library not in addresses:
                raise DeployError(f"{self.name} needs library {library} linked; no address given")
            address = bytes.fromhex(addresses[library][2:])
            for offset in offsets:
                code[offset:offset + 20] = address
        return Artifact(self.name, bytes(code))


def _hex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DeployError(f"artifact {path} is missing; run `npm ci` at the repo root") from exc


def waffle_artifact(package: str, name: str, root: Path = REPO_ROOT) -> Artifact:
    """Uniswap V2's build/<name>.json (waffle format: top-level hex ``bytecode``)."""
    data = _load_json(node_modules(root) / package / "build" / f"{name}.json")
    return Artifact(name, _hex(data["bytecode"]))


def hardhat_artifact(package: str, relative: str, root: Path = REPO_ROOT) -> Artifact:
    """Uniswap V3's artifacts/contracts/<relative>.json (hardhat format, with link references)."""
    data = _load_json(node_modules(root) / package / "artifacts" / "contracts" / f"{relative}.json")
    offsets: dict[str, tuple[int, ...]] = {}
    code = data["bytecode"].removeprefix("0x")
    for libraries in data.get("linkReferences", {}).values():
        for library, places in libraries.items():
            offsets[library] = tuple(place["start"] for place in places)
            for place in places:  # unlinked placeholders (__$hash$__) become zeros until linked
                start = place["start"] * 2
                code = code[:start] + "00" * place["length"] + code[start + place["length"] * 2:]
    return Artifact(data["contractName"], _hex(code), offsets)


def hash_constant_in_source(path: Path, pattern: str) -> bytes:
    """The 32-byte init-code hash a periphery source file hardcodes."""
    match = re.search(pattern, path.read_text())
    if match is None:
        raise DeployError(f"no init-code hash constant found in {path}")
    return bytes.fromhex(match.group(1))


def uniswap_v2_router_hash(root: Path = REPO_ROOT) -> bytes:
    path = node_modules(root) / "@uniswap/v2-periphery/contracts/libraries/UniswapV2Library.sol"
    return hash_constant_in_source(path, r"hex'([0-9a-fA-F]{64})' // init code hash")


def uniswap_v3_pool_hash(root: Path = REPO_ROOT) -> bytes:
    path = node_modules(root) / "@uniswap/v3-periphery/contracts/libraries/PoolAddress.sol"
    return hash_constant_in_source(path, r"POOL_INIT_CODE_HASH = 0x([0-9a-fA-F]{64})")


def compile_standard_json(solc_package: str, sources: dict[str, str], *, optimizer_runs: int,
                          root: Path = REPO_ROOT) -> dict[str, dict[str, Any]]:
    """Compile with the npm solc ``solc_package``; returns {source: {contract: output}}."""
    node = require_program("node")
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {"optimizer": {"enabled": True, "runs": optimizer_runs},
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    request = json.dumps({"solc": solc_package, "root": str(root), "input": standard_input})
    script = Path(__file__).with_name("solc_compile.js")
    result = subprocess.run([node, str(script)], input=request, capture_output=True, text=True)
    if result.returncode != 0:
        raise CompileError(f"{solc_package} crashed (exit {result.returncode}): {result.stderr.strip()[-800:]}")
    output = json.loads(result.stdout)
    errors = [e.get("formattedMessage", str(e)) for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(f"{solc_package} rejected the sources:\n" + "\n".join(errors))
    return output["contracts"]


def _bytecode(contracts: dict[str, dict[str, Any]], source: str, name: str) -> Artifact:
    try:
        return Artifact(name, _hex(contracts[source][name]["evm"]["bytecode"]["object"]))
    except KeyError as exc:
        raise CompileError(f"solc output has no {name} in {source}") from exc


SUSHI_DIR = "@sushiswap/core/contracts/uniswapv2"
_SUSHI_HASH = re.compile(r"hex'([0-9a-fA-F]{64})' // init code hash")


@attrs.frozen
class SushiBuild:
    factory: Artifact
    router: Artifact
    pair_init_code_hash: bytes
    upstream_hash: bytes  # what Sushi's library hardcoded (their mainnet build)


def compile_sushiswap(root: Path = REPO_ROOT) -> SushiBuild:
    base = node_modules(root) / SUSHI_DIR
    sources = {f"{SUSHI_DIR}/{p.relative_to(base)}": p.read_text() for p in sorted(base.rglob("*.sol"))}
    first = compile_standard_json("solc-0.6.12", sources, optimizer_runs=5000, root=root)
    pair = _bytecode(first, f"{SUSHI_DIR}/UniswapV2Pair.sol", "UniswapV2Pair")
    library = f"{SUSHI_DIR}/libraries/UniswapV2Library.sol"
    match = _SUSHI_HASH.search(sources[library])
    if match is None:
        raise CompileError(f"{library}: init code hash constant not found; the package layout changed")
    upstream = bytes.fromhex(match.group(1))
    sources[library] = _SUSHI_HASH.sub(f"hex'{pair.init_code_hash.hex()}' // init code hash", sources[library])
    second = compile_standard_json("solc-0.6.12", sources, optimizer_runs=5000, root=root)
    if _bytecode(second, f"{SUSHI_DIR}/UniswapV2Pair.sol", "UniswapV2Pair").bytecode != pair.bytecode:
        raise CompileError("the SushiSwap pair's creation code changed between two identical compilations")
    return SushiBuild(
        factory=_bytecode(second, f"{SUSHI_DIR}/UniswapV2Factory.sol", "UniswapV2Factory"),
        router=_bytecode(second, f"{SUSHI_DIR}/UniswapV2Router02.sol", "UniswapV2Router02"),
        pair_init_code_hash=pair.init_code_hash,
        upstream_hash=upstream,
    )


def compile_devnet_token(root: Path = REPO_ROOT) -> Artifact:
    source = "contracts/devnet/DevnetToken.sol"
    contracts = compile_standard_json("solc", {source: (root / source).read_text()}, optimizer_runs=200, root=root)
    return _bytecode(contracts, source, "DevnetToken")
