"""Parser benchmark: calldata to swap intents, microseconds per transaction per router kind.

Run from the repository root: ``.venv/bin/python bench/parser.py``. It prints a table and
writes ``bench/results/parser.json`` and ``bench/results/parser.md``.

Each row decodes one representative transaction (full path: router lookup, ABI decode, V3
path unpacking, pool resolution through a registry holding every pool, intent construction)
many times and reports the median over repeats. The peer column is eth_abi (the generic
decoder that mevbot.parser.abi_reader replaces) decoding only the outer arguments of the same
calldata — nested multicall entries and Universal Router inputs are not decoded there — and,
for log rows, the same event data. Takes a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from eth_abi import decode, encode  # noqa: E402
from eth_utils import keccak  # noqa: E402

from mevbot.parser.calldata import CalldataParser, RouterSpec  # noqa: E402
from mevbot.parser.logs import LogParser  # noqa: E402
from mevbot.parser.messages import FeedPosition, PoolKind, RouterKind  # noqa: E402
from mevbot.parser.pool_address import v2_pair_address, v3_pool_address  # noqa: E402
from mevbot.pools.registry import (UNISWAP_V2_INIT_CODE_HASH, UNISWAP_V3_INIT_CODE_HASH, DexInfo,  # noqa: E402
                                   PoolInfo, PoolRegistry)

HERE = os.path.dirname(os.path.abspath(__file__))
A, B, C, WETH, USER = ("0x" + h * 20 for h in ("a1", "b2", "c3", "e0", "75"))
V2F, V3F = "0x" + "f2" * 20, "0x" + "f3" * 20
ROUTERS = {"0x" + "01" * 20: RouterSpec(RouterKind.V2_ROUTER02, v2_dex="uniswap_v2"),
           "0x" + "03" * 20: RouterSpec(RouterKind.V3_SWAP_ROUTER, v3_dex="uniswap_v3"),
           "0x" + "04" * 20: RouterSpec(RouterKind.V3_SWAP_ROUTER02, v2_dex="uniswap_v2", v3_dex="uniswap_v3"),
           "0x" + "05" * 20: RouterSpec(RouterKind.UNIVERSAL_ROUTER, v2_dex="uniswap_v2", v3_dex="uniswap_v3")}
V2R, V3R, SR02, UR = ROUTERS


def call(signature: str, types: list[str], args: list) -> bytes:
    return keccak(text=signature)[:4] + encode(types, args)


def path(*items) -> bytes:
    return b"".join(bytes.fromhex(i[2:]) if isinstance(i, str) else i.to_bytes(3, "big") for i in items)


def registry() -> PoolRegistry:
    reg = PoolRegistry(dexes=[DexInfo("uniswap_v2", PoolKind.V2, V2F, UNISWAP_V2_INIT_CODE_HASH),
                              DexInfo("uniswap_v3", PoolKind.V3, V3F, UNISWAP_V3_INIT_CODE_HASH)])
    tokens = [A, B, C, WETH]
    for i, x in enumerate(tokens):
        for y in tokens[i + 1:]:
            t0, t1 = sorted((x, y))
            reg.add_pool(PoolInfo(v2_pair_address(V2F, UNISWAP_V2_INIT_CODE_HASH, x, y), "uniswap_v2", PoolKind.V2,
                                  t0, t1, 3000))
            for fee in (500, 3000):
                reg.add_pool(PoolInfo(v3_pool_address(V3F, UNISWAP_V3_INIT_CODE_HASH, x, y, fee), "uniswap_v3",
                                      PoolKind.V3, t0, t1, fee, 10))
    return reg


SINGLE_DL = "(address,address,uint24,address,uint256,uint256,uint256,uint160)"
PATH_DL = "(bytes,address,uint256,uint256,uint256)"
SINGLE = "(address,address,uint24,address,uint256,uint256,uint160)"
V2_ARGS = ["uint256", "uint256", "address[]", "address", "uint256"]
UR_SWAP = ["address", "uint256", "uint256", "bytes", "bool"]
UR_V2 = ["address", "uint256", "uint256", "address[]", "bool"]

# name, router, calldata, value, the outer types eth_abi decodes for the peer column
CASES = [
    ("v2_router02 swapExactTokensForTokens 2 hops", V2R,
     call(f"swapExactTokensForTokens({','.join(V2_ARGS)})", V2_ARGS, [10**18, 1, [A, B, C], USER, 2**40]), 0, V2_ARGS),
    ("v2_router02 swapExactETHForTokens", V2R,
     call("swapExactETHForTokens(uint256,address[],address,uint256)", V2_ARGS[1:], [1, [WETH, A], USER, 2**40]),
     10**18, V2_ARGS[1:]),
    ("v3_swap_router exactInputSingle", V3R,
     call(f"exactInputSingle({SINGLE_DL})", [SINGLE_DL], [(A, B, 500, USER, 2**40, 10**18, 1, 0)]), 0, [SINGLE_DL]),
    ("v3_swap_router exactInput 2 hops", V3R,
     call(f"exactInput({PATH_DL})", [PATH_DL], [(path(A, 500, B, 3000, C), USER, 2**40, 10**18, 1)]), 0, [PATH_DL]),
    ("v3_swap_router02 multicall(deadline) 2 swaps", SR02,
     call("multicall(uint256,bytes[])", ["uint256", "bytes[]"], [2**40, [
         call(f"exactInputSingle({SINGLE})", [SINGLE], [(A, B, 500, "0x" + "00" * 19 + "02", 10**18, 0, 0)]),
         call("swapExactTokensForTokens(uint256,uint256,address[],address)", V2_ARGS[:4], [0, 1, [B, C], USER])]]),
     0, ["uint256", "bytes[]"]),
    ("universal_router WRAP+V3_IN+V2_IN+UNWRAP", UR,
     call("execute(bytes,bytes[],uint256)", ["bytes", "bytes[]", "uint256"], [bytes([0x0B, 0x00, 0x08, 0x0C]), [
         encode(["address", "uint256"], ["0x" + "00" * 19 + "02", 1 << 255]),
         encode(UR_SWAP, ["0x" + "00" * 19 + "02", 1 << 255, 1, path(WETH, 500, A), False]),
         encode(UR_V2, ["0x" + "00" * 19 + "02", 1 << 255, 1, [A, B], False]),
         encode(["address", "uint256"], [USER, 0])], 2**40]), 10**18, ["bytes", "bytes[]", "uint256"]),
    ("not a router (skipped)", "0x" + "99" * 20, b"\xa9\x05\x9c\xbb" + bytes(64), 0, None),
]


def log_cases() -> list[tuple[str, dict, list[str]]]:
    sync_sig, swap_sig = "Sync(uint112,uint112)", "Swap(address,address,int256,int256,uint160,uint128,int24)"
    pair = v2_pair_address(V2F, UNISWAP_V2_INIT_CODE_HASH, A, B)
    pool = v3_pool_address(V3F, UNISWAP_V3_INIT_CODE_HASH, A, B, 500)
    user_topic = "0x" + encode(["address"], [USER]).hex()
    return [
        ("log v2 Sync", {"address": pair, "topics": ["0x" + keccak(text=sync_sig).hex()],
                         "data": "0x" + encode(["uint112", "uint112"], [10**21, 2 * 10**21]).hex(),
                         "blockNumber": "0x10", "logIndex": "0x1", "transactionHash": "0x" + "ab" * 32},
         ["uint112", "uint112"]),
        ("log v3 Swap", {"address": pool, "topics": ["0x" + keccak(text=swap_sig).hex(), user_topic, user_topic],
                         "data": "0x" + encode(["int256", "int256", "uint160", "uint128", "int24"],
                                               [10**18, -(10**18), 2**96, 10**20, -12]).hex(),
                         "blockNumber": "0x10", "logIndex": "0x1", "transactionHash": "0x" + "ab" * 32},
         ["int256", "int256", "uint160", "uint128", "int24"]),
    ]


def per_op_us(fn: Callable[[], object], n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        times.append((time.perf_counter_ns() - start) / n / 1000)
    return statistics.median(times)


def main() -> int:
    parser_args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_args.add_argument("-n", type=int, default=2000, help="operations per repeat")
    parser_args.add_argument("--repeats", type=int, default=5)
    args = parser_args.parse_args()

    reg = registry()
    parser = CalldataParser(reg, ROUTERS, weth=WETH)
    logs = LogParser(reg)
    position = FeedPosition(1, 0)
    rows = []
    for name, router, data, value, outer in CASES:
        intents = parser.parse(router, data, value, tx_hash="0x00", position=position)
        if router in ROUTERS:
            assert intents and all(i.all_pools_known for i in intents), name
        us = per_op_us(lambda: parser.parse(router, data, value, tx_hash="0x00", position=position), args.n, args.repeats)
        peer = None if outer is None else per_op_us(lambda: decode(outer, data[4:]), args.n, args.repeats)
        rows.append({"case": name, "intents": len(intents), "us_per_tx": round(us, 2),
                     "eth_abi_outer_decode_us": None if peer is None else round(peer, 2)})
    for name, entry, types in log_cases():
        assert logs.parse(entry) is not None, name
        data = bytes.fromhex(entry["data"][2:])
        us = per_op_us(lambda: logs.parse(entry), args.n, args.repeats)
        peer = per_op_us(lambda: decode(types, data), args.n, args.repeats)
        rows.append({"case": name, "intents": 0, "us_per_tx": round(us, 2), "eth_abi_outer_decode_us": round(peer, 2)})
    assert parser.counters["calldata_decode_error"] == 0 and parser.counters["internal_error"] == 0

    header = f"{'case':46} {'intents':>7} {'us/tx':>9} {'eth_abi decode us':>18}"
    lines = [header, "-" * len(header)]
    md = ["| case | intents | µs per tx (full parse) | eth_abi outer decode alone (µs) |", "|---|---:|---:|---:|"]
    for row in rows:
        peer = "-" if row["eth_abi_outer_decode_us"] is None else f"{row['eth_abi_outer_decode_us']:.2f}"
        lines.append(f"{row['case']:46} {row['intents']:>7} {row['us_per_tx']:>9.2f} {peer:>18}")
        md.append(f"| {row['case']} | {row['intents']} | {row['us_per_tx']:.2f} | {peer} |")
    print("\n".join(lines))
    result = {"benchmark": "parser", "unit": "microseconds per transaction (median of repeats)",
              "n": args.n, "repeats": args.repeats, "python": platform.python_version(),
              "machine": platform.machine(), "rows": rows}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "parser.json"), "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(HERE, "results", "parser.md"), "w") as fh:
        fh.write("# Parser benchmark\n\n`.venv/bin/python bench/parser.py` — calldata to swap intents and logs to pool "
                 "updates. Peer: eth_abi decoding only the outer arguments (nested multicall entries and "
                 "Universal Router inputs not included) or the log's data.\n\n")
        fh.write("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
