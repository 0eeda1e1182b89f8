"""`mevbot contract build | deploy`: the executor contract."""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("contract", help="build or deploy the executor contract",
                                   description="Build the executor contract with the pinned npm solc, or deploy it.")
    sub = parser.add_subparsers(dest="contract_command", metavar="ACTION")
    sub.required = True

    build = sub.add_parser("build", help="compile contracts/executor/MevExecutor.sol into build/",
                           description="Compile the executor with the npm solc pinned in package.json and "
                                       "write ABI and bytecode to build/MevExecutor.json (make install runs this).")
    build.set_defaults(handler=handle_build)

    deploy = sub.add_parser(
        "deploy", help="deploy the executor to the chain of [rpc] http_urls",
        description="Deploy the executor, owned by the trading key ([execution] keystore, or on a local anvil "
                    "$MEVBOT_DEVNET_KEY), allowing the given V2-style and V3 factories. Prints the address to "
                    "put in [execution] executor.")
    add_config_option(deploy)
    deploy.add_argument("--v2-factory", action="append", default=[], metavar="ADDRESS",
                        help="a Uniswap V2-style factory whose pairs may call back (repeatable)")
    deploy.add_argument("--v3-factory", action="append", default=[], metavar="ADDRESS",
                        help="a Uniswap V3 factory whose pools may call back (repeatable)")
    deploy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    deploy.set_defaults(handler=handle_deploy)


def handle_build(args: argparse.Namespace) -> int:
    from mevbot.devnet.errors import DevnetError
    from mevbot.execution.contract import compile_executor, write_build
    from mevbot.execution.errors import ExecutionError

    try:
        path = write_build(compile_executor())
    except (DevnetError, ExecutionError) as exc:
        print(f"mevbot contract build: {exc}", file=sys.stderr)
        return 1
    print(f"built {path}")
    return 0


def handle_deploy(args: argparse.Namespace) -> int:
    import trio

    from mevbot.config import ConfigError, load_config
    from mevbot.execution.errors import ExecutionError
    from mevbot.rpc.errors import RpcError

    try:
        config = load_config(args.config, overrides=args.overrides)
    except ConfigError as exc:
        print(f"mevbot contract deploy: invalid config:\n{exc}", file=sys.stderr)
        return 2
    if not args.v2_factory and not args.v3_factory:
        print("mevbot contract deploy: name at least one --v2-factory or --v3-factory", file=sys.stderr)
        return 2
    if not args.yes and sys.stdin.isatty():
        answer = input(f"deploy the executor through {config.rpc.http_urls[0]}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    try:
        address = trio.run(deploy_executor, config, args.v2_factory, args.v3_factory)
    except (ExecutionError, RpcError) as exc:
        print(f"mevbot contract deploy: {exc}", file=sys.stderr)
        return 1
    print(address)
    return 0


async def deploy_executor(config, v2_factories: list[str], v3_factories: list[str]) -> str:
    """Deploy with the configured trading key; returns the contract address."""
    import trio

    from mevbot.execution.contract import load_executor
    from mevbot.execution.errors import ExecutionError
    from mevbot.execution.keys import load_trading_key
    from mevbot.rpc.client import RpcClient

    artifact = load_executor()
    async with RpcClient.from_settings(config.rpc) as rpc:
        key = load_trading_key(config.execution, rpc_url=config.rpc.http_urls[0],
                               client_version=str(await rpc.call("web3_clientVersion")))
        data = artifact.deploy_data(v2_factories, v3_factories)
        head = await rpc.get_block("latest")
        base_fee = int(head.get("baseFeePerGas", "0x0"), 16)
        tx = {"chainId": await rpc.chain_id(), "to": b"", "data": data, "value": 0, "type": 2,
              "nonce": await rpc.get_transaction_count(key.address, "pending"),
              "gas": await rpc.estimate_gas({"from": key.address, "data": "0x" + data.hex()}) * 12 // 10,
              "maxPriorityFeePerGas": config.execution.priority_fee_wei,
              "maxFeePerGas": base_fee * 2 + config.execution.priority_fee_wei}
        tx.pop("to")
        tx_hash = await rpc.send_raw_transaction(key.sign_transaction(tx))
        with trio.fail_after(60):
            while (receipt := await rpc.get_transaction_receipt(tx_hash)) is None:
                await trio.sleep(0.1)  # polling the chain for the receipt
        if receipt.get("status") != "0x1" or not receipt.get("contractAddress"):
            raise ExecutionError(f"deployment transaction {tx_hash} reverted")
        return receipt["contractAddress"]

