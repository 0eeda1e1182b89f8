"""RPC benchmark: a call's round trip over httpx against one over a persistent WebSocket.

Against a local anvil (the pinned npm binary, chain id 42161, no block time: only our calls):

    httpx           RpcClient with HTTP endpoints only
    websocket       RpcClient with [rpc] ws_urls (WsCalls, one request per connection, 3 of them)
    two at once     two requests written back to back on one raw trio-websocket connection, then
                    both answers read: what one request per connection avoids (anvil does not set
                    TCP_NODELAY, so its second answer waits for our delayed ACK of the first)

    .venv/bin/python bench/rpc.py
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import trio
from trio_websocket import open_websocket_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
ROUNDS = 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_us": round(samples[len(samples) // 2], 1), "p99_us": round(samples[int(len(samples) * 0.99)], 1)}


async def _time(call, rounds: int = ROUNDS) -> dict[str, float]:
    for _ in range(20):
        await call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1e6)
    return _percentiles(samples)


async def measure(http_url: str, ws_url: str) -> list[dict]:
    from mevbot.rpc.client import RpcClient

    balance = [("eth_getBalance", ["0x" + "11" * 20, "latest"]), ("eth_getBalance", ["0x" + "22" * 20, "pending"])]
    rows = []
    unlimited = dict(rate_per_s=1e9, burst=10**6)  # the token bucket (200/s by default) would pace the loop
    async with RpcClient([http_url], **unlimited) as http, RpcClient([http_url], ws_url=ws_url, **unlimited) as ws:
        assert await ws.wait_connected(10), "the WebSocket did not connect"
        for name, client in (("httpx", http), ("websocket", ws)):
            rows.append({"transport": name, "call": "eth_blockNumber", **await _time(lambda: client.block_number())})
            rows.append({"transport": name, "call": "batch of two eth_getBalance",
                         **await _time(lambda: client.batch(balance))})
    async with open_websocket_url(ws_url) as raw:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})

        async def one() -> None:
            await raw.send_message(body)
            await raw.get_message()

        async def two_at_once() -> None:
            await raw.send_message(body)
            await raw.send_message(body)
            await raw.get_message()
            await raw.get_message()

        rows.append({"transport": "raw WebSocket", "call": "eth_blockNumber, one on the connection", **await _time(one, 100)})
        rows.append({"transport": "raw WebSocket", "call": "two eth_blockNumber on one connection at once",
                     **await _time(two_at_once, 100)})
    return rows


def main() -> int:
    from mevbot.devnet.toolchain import anvil_binary

    port = _free_port()
    anvil = subprocess.Popen([str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "42161",
                              "--silent"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("anvil did not start") from None
                time.sleep(0.05)  # polling anvil's port until it listens
        load_before = os.getloadavg()
        rows = trio.run(measure, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
        load_after = os.getloadavg()
    finally:
        anvil.terminate()
        anvil.wait(10)
    command = ".venv/bin/python bench/rpc.py"
    report = {"command": command, "python": platform.python_version(), "cpus": os.cpu_count(), "rounds": ROUNDS,
              "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
              "rows": rows}
    lines = ["# RPC: a call over httpx against one over a persistent WebSocket", "",
             f"`{command}` — RpcClient against a local anvil (the pinned npm binary, no block time), {ROUNDS} rounds "
             f"after 20 warm-up calls, its rate limit lifted; the client's whole call (building, sending, parsing) is timed. Load "
             f"{report['load_before']} -> {report['load_after']}.", "",
             "| transport | call | p50 µs | p99 µs |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {r['transport']} | {r['call']} | {r['p50_us']:,} | {r['p99_us']:,} |" for r in rows]
    lines += ["", "The last row is why WsCalls puts one request on a connection at a time and RpcClient keeps "
                  "`[rpc] ws_connections` of them: anvil does not set TCP_NODELAY, so its second answer in a row "
                  "waits in the kernel for our delayed ACK of the first."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rpc.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "rpc.md").write_text(text)
    print(f"wrote {RESULTS / 'rpc.json'} and its .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
