"""Calldata decoders: a pending transaction to a known router becomes :class:`SwapIntent` s.

Covers Uniswap V2 Router02 and its forks (every ``swap*`` variant: ETH in/out and
fee-on-transfer), Uniswap V3 ``SwapRouter`` (params with a deadline), ``SwapRouter02``
(V2 and V3 swaps without a deadline, ``multicall`` with and without a deadline or previous
block hash) and the Universal Router's ``execute`` (V2/V3 exact in/out, WRAP_ETH,
UNWRAP_WETH; other commands are skipped). Which address is which router, and which DEX its
pools belong to, comes from the deployment manifest (:func:`routers_from_manifest`).

Router conventions the intents resolve rather than pass on:

* V3 exact-output paths are encoded backwards (``tokenOut, fee, ..., tokenIn``); hops are
  reported in token-flow order.
* "Use the router's own balance" sentinels (``amountIn == 0`` on SwapRouter02,
  ``1 << 255`` on the Universal Router) become ``amount_in=None`` with
  ``amount_in_from_previous``; a preceding wrap of a known ETH amount fills it in.
* A wrap before a swap marks it ``native_in``; an unwrap after it marks it ``native_out``.

The decoders raise :class:`CalldataDecodeError`; :class:`CalldataParser` catches it, counts it
and returns no intents for that transaction (a tx with malformed calldata reverts anyway).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from eth_utils import keccak

from mevbot.feed.errors import FeedDecodeError
from mevbot.parser.abi_reader import AbiDecodeError
from mevbot.parser.abi_reader import decode as abi_decode
from mevbot.parser.errors import CalldataDecodeError, ParserError
from mevbot.parser.messages import FeedPosition, PoolKind, RouterKind, SwapHop, SwapIntent

log = logging.getLogger(__name__)

UR_CONTRACT_BALANCE = 1 << 255  # Universal Router: spend the router's whole balance
SR02_CONTRACT_BALANCE = 0  # SwapRouter02: amountIn 0 means the router's whole balance
MSG_SENDER = "0x" + "00" * 19 + "01"  # recipient sentinels of SwapRouter02 / Universal Router
ADDRESS_THIS = "0x" + "00" * 19 + "02"


@attrs.frozen
class RouterSpec:
    """A router deployment: its kind and the DEX names its V2 / V3 swaps go through."""

    kind: RouterKind
    v2_dex: str | None = None
    v3_dex: str | None = None


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


# -- Uniswap V2 Router02 (and SushiSwap's identical router) ---------------------------------
# Each entry: argument types, then which argument holds what. Signatures are checked against
# the IUniswapV2Router02 artifact in tests/parser/test_signatures.py.
_V2_EXACT_IN = ("amount_in", "amount_out_min")
_V2_EXACT_OUT = ("amount_out", "amount_in_max")
V2_ROUTER02_FUNCTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, bool]]] = {
    "swapExactTokensForTokens": (("uint256", "uint256", "address[]", "address", "uint256"), _V2_EXACT_IN, {}),
    "swapTokensForExactTokens": (("uint256", "uint256", "address[]", "address", "uint256"), _V2_EXACT_OUT, {}),
    "swapExactETHForTokens": (("uint256", "address[]", "address", "uint256"), ("amount_out_min",),
                              {"native_in": True}),
    "swapTokensForExactETH": (("uint256", "uint256", "address[]", "address", "uint256"), _V2_EXACT_OUT,
                              {"native_out": True}),
    "swapExactTokensForETH": (("uint256", "uint256", "address[]", "address", "uint256"), _V2_EXACT_IN,
                              {"native_out": True}),
    "swapETHForExactTokens": (("uint256", "address[]", "address", "uint256"), ("amount_out",),
                              {"native_in": True}),
    "swapExactTokensForTokensSupportingFeeOnTransferTokens": (
        ("uint256", "uint256", "address[]", "address", "uint256"), _V2_EXACT_IN, {"fee_on_transfer": True}),
    "swapExactETHForTokensSupportingFeeOnTransferTokens": (
        ("uint256", "address[]", "address", "uint256"), ("amount_out_min",),
        {"native_in": True, "fee_on_transfer": True}),
    "swapExactTokensForETHSupportingFeeOnTransferTokens": (
        ("uint256", "uint256", "address[]", "address", "uint256"), _V2_EXACT_IN,
        {"native_out": True, "fee_on_transfer": True}),
}

# -- Uniswap V3 SwapRouter (ISwapRouter: params carry a deadline) ---------------------------
V3_SINGLE_DL = "(address,address,uint24,address,uint256,uint256,uint256,uint160)"
V3_PATH_DL = "(bytes,address,uint256,uint256,uint256)"
# -- SwapRouter02 (IV3SwapRouter / IV2SwapRouter: no deadline; multicall carries it) --------
V3_SINGLE = "(address,address,uint24,address,uint256,uint256,uint160)"
V3_PATH = "(bytes,address,uint256,uint256)"

SIGNATURES: dict[RouterKind, tuple[str, ...]] = {
    RouterKind.V2_ROUTER02: tuple(
        f"{name}({','.join(types)})" for name, (types, _, _) in V2_ROUTER02_FUNCTIONS.items()),
    RouterKind.V3_SWAP_ROUTER: (
        f"exactInputSingle({V3_SINGLE_DL})", f"exactInput({V3_PATH_DL})",
        f"exactOutputSingle({V3_SINGLE_DL})", f"exactOutput({V3_PATH_DL})",
        "multicall(bytes[])", "unwrapWETH9(uint256,address)",
        "unwrapWETH9WithFee(uint256,address,uint256,address)",
    ),
    RouterKind.V3_SWAP_ROUTER02: (
        f"exactInputSingle({V3_SINGLE})", f"exactInput({V3_PATH})",
        f"exactOutputSingle({V3_SINGLE})", f"exactOutput({V3_PATH})",
        "swapExactTokensForTokens(uint256,uint256,address[],address)",
        "swapTokensForExactTokens(uint256,uint256,address[],address)",
        "multicall(bytes[])", "multicall(uint256,bytes[])", "multicall(bytes32,bytes[])",
        "wrapETH(uint256)", "unwrapWETH9(uint256,address)", "unwrapWETH9(uint256)",
        "unwrapWETH9WithFee(uint256,address,uint256,address)", "unwrapWETH9WithFee(uint256,uint256,address)",
    ),
    RouterKind.UNIVERSAL_ROUTER: ("execute(bytes,bytes[],uint256)", "execute(bytes,bytes[])"),
}

# Universal Router commands (Uniswap/universal-router contracts/libraries/Commands.sol).
UR_FLAG_ALLOW_REVERT = 0x80
UR_COMMAND_TYPE_MASK = 0x3F
UR_V3_SWAP_EXACT_IN = 0x00
UR_V3_SWAP_EXACT_OUT = 0x01
UR_V2_SWAP_EXACT_IN = 0x08
UR_V2_SWAP_EXACT_OUT = 0x09
UR_WRAP_ETH = 0x0B
UR_UNWRAP_WETH = 0x0C
UR_COMMAND_NAMES = {
    UR_V3_SWAP_EXACT_IN: "V3_SWAP_EXACT_IN", UR_V3_SWAP_EXACT_OUT: "V3_SWAP_EXACT_OUT",
    UR_V2_SWAP_EXACT_IN: "V2_SWAP_EXACT_IN", UR_V2_SWAP_EXACT_OUT: "V2_SWAP_EXACT_OUT",
    UR_WRAP_ETH: "WRAP_ETH", UR_UNWRAP_WETH: "UNWRAP_WETH",
}
_UR_SWAP_TYPES = ("address", "uint256", "uint256", "bytes", "bool")
_UR_V2_SWAP_TYPES = ("address", "uint256", "uint256", "address[]", "bool")
_UR_WRAP_TYPES = ("address", "uint256")


def decode_v3_path(path: bytes) -> tuple[list[str], list[int]]:
    """A packed V3 path ``token (fee token)*`` as its tokens and fee tiers, in encoded order."""
    if len(path) < 43 or (len(path) - 20) % 23:
        raise ValueError(f"a V3 path is 20 + 23*k bytes with k >= 1, got {len(path)} bytes")
    tokens = ["0x" + path[0:20].hex()]
    fees = []
    for offset in range(20, len(path), 23):
        fees.append(int.from_bytes(path[offset:offset + 3], "big"))
        tokens.append("0x" + path[offset + 3:offset + 23].hex())
    return tokens, fees


@attrs.define
class _Tx:
    """One transaction being decoded: its envelope and what earlier actions left behind."""

    router: str
    spec: RouterSpec
    value: int
    tx_hash: str
    position: FeedPosition
    deadline: int | None = None
    intents: list[SwapIntent] = attrs.Factory(list)
    pending_wrap: bool = False  # ETH was wrapped into the router and not yet swapped
    pending_wrap_amount: int | None = None

    def fail(self, where: str, problem: str) -> CalldataDecodeError:
        return CalldataDecodeError(router=self.router, function=where.split(":")[0], where=where,
                                   problem=problem)


class CalldataParser:
    """Decodes router calldata to swap intents; raises nothing, counts what it skips.

    ``counters`` keys: ``intents`` (published), ``unrelated`` (not a known router, or a call
    that is not a swap), ``calldata_decode_error`` (malformed calldata for a known function),
    ``unknown_pool`` (hops whose pool the registry does not know), ``skipped_command``
    (Universal Router commands other than swaps and wraps), ``internal_error`` (a bug).
    """

    def __init__(self, registry: Any, routers: Mapping[str, RouterSpec], *, weth: str | None = None,
                 max_multicall_depth: int = 3) -> None:
        self.registry = registry
        self.routers = {address.lower(): spec for address, spec in routers.items()}
        self.weth = weth.lower() if weth else None
        self.max_multicall_depth = max_multicall_depth
        self.counters: collections.Counter[str] = collections.Counter()
        self._dispatch: dict[RouterKind, dict[bytes, Callable[[_Tx, bytes, int], None]]] = {
            kind: {} for kind in RouterKind}
        v2 = self._dispatch[RouterKind.V2_ROUTER02]
        for name, (types, roles, flags) in V2_ROUTER02_FUNCTIONS.items():
            v2[_selector(f"{name}({','.join(types)})")] = self._v2_router02_handler(name, types, roles, flags)
        for kind, with_deadline in ((RouterKind.V3_SWAP_ROUTER, True), (RouterKind.V3_SWAP_ROUTER02, False)):
            table = self._dispatch[kind]
            single, path = (V3_SINGLE_DL, V3_PATH_DL) if with_deadline else (V3_SINGLE, V3_PATH)
            table[_selector(f"exactInputSingle({single})")] = self._v3_single_handler("exactInputSingle", single, True)
            table[_selector(f"exactOutputSingle({single})")] = self._v3_single_handler("exactOutputSingle", single, False)
            table[_selector(f"exactInput({path})")] = self._v3_path_handler("exactInput", path, True)
            table[_selector(f"exactOutput({path})")] = self._v3_path_handler("exactOutput", path, False)
            table[_selector("multicall(bytes[])")] = self._multicall_handler(())
            table[_selector("unwrapWETH9(uint256,address)")] = self._unwrap_handler
            table[_selector("unwrapWETH9WithFee(uint256,address,uint256,address)")] = self._unwrap_handler
        sr02 = self._dispatch[RouterKind.V3_SWAP_ROUTER02]
        sr02[_selector("multicall(uint256,bytes[])")] = self._multicall_handler(("uint256",), deadline=True)
        sr02[_selector("multicall(bytes32,bytes[])")] = self._multicall_handler(("bytes32",))
        sr02[_selector("unwrapWETH9(uint256)")] = self._unwrap_handler
        sr02[_selector("unwrapWETH9WithFee(uint256,uint256,address)")] = self._unwrap_handler
        sr02[_selector("wrapETH(uint256)")] = self._sr02_wrap
        for name, types in (("swapExactTokensForTokens", ("uint256", "uint256", "address[]", "address")),
                            ("swapTokensForExactTokens", ("uint256", "uint256", "address[]", "address"))):
            roles = _V2_EXACT_IN if name.startswith("swapExact") else _V2_EXACT_OUT
            sr02[_selector(f"{name}({','.join(types)})")] = self._v2_router02_handler(name, types, roles, {})
        ur = self._dispatch[RouterKind.UNIVERSAL_ROUTER]
        ur[_selector("execute(bytes,bytes[],uint256)")] = self._ur_execute_handler(with_deadline=True)
        ur[_selector("execute(bytes,bytes[])")] = self._ur_execute_handler(with_deadline=False)

    # -- entry point -----------------------------------------------------------------------

    def parse(self, tx_to: str | bytes | None, calldata: bytes, value: int = 0, *, tx_hash: str,
              position: FeedPosition) -> list[SwapIntent]:
        """The swap intents of one transaction, in execution order; [] for anything else."""
        if tx_to is None:
            self.counters["unrelated"] += 1
            return []
        to = ("0x" + bytes(tx_to).hex()) if isinstance(tx_to, (bytes, bytearray)) else tx_to.lower()
        spec = self.routers.get(to)
        if spec is None:
            self.counters["unrelated"] += 1
            return []
        tx = _Tx(to, spec, value, tx_hash, position)
        try:
            self._call(tx, bytes(calldata), depth=0)
        except ParserError as exc:
            self.counters[exc.kind] += 1
            log.warning("skipped tx %s: %s", tx_hash, exc)
            return []
        except Exception:  # noqa: BLE001 - a decoder bug must not take the feed loop down
            self.counters["internal_error"] += 1
            log.exception("parser bug on tx %s to %s", tx_hash, to)
            return []
        if not tx.intents:
            self.counters["unrelated"] += 1
            return []
        self.counters["intents"] += len(tx.intents)
        self.counters["unknown_pool"] += sum(not hop.known for i in tx.intents for hop in i.hops)
        return tx.intents

    def parse_feed_transaction(self, tx: Any, *, seq: int) -> list[SwapIntent]:
        """The swap intents of a sequencer-feed transaction (``mevbot.feed.transactions.
        FeedTransaction``, ``seq`` its feed message's sequence number).

        Reads only ``to`` first, so a transaction to any other contract costs a slice and a
        dict miss; calldata, value and the hash (a keccak) are read for router calls only. A
        malformed envelope is counted as ``tx_decode_error``.
        """
        try:
            to = tx.to_bytes
            if to is None or "0x" + to.hex() not in self.routers:
                self.counters["unrelated"] += 1
                return []
            data, value, tx_hash = tx.data, tx.value, tx.hash_hex
        except FeedDecodeError as exc:
            self.counters["tx_decode_error"] += 1
            log.warning("skipped a feed transaction at seq %d: %s", seq, exc)
            return []
        return self.parse(to, data, value, tx_hash=tx_hash, position=FeedPosition(seq, tx.index))

    def _call(self, tx: _Tx, calldata: bytes, depth: int) -> None:
        handler = self._dispatch[tx.spec.kind].get(calldata[:4])
        if handler is not None:
            handler(tx, calldata, depth)

    def _decode(self, tx: _Tx, name: str, types: Sequence[str], data: bytes) -> tuple[Any, ...]:
        try:
            return abi_decode(types, data)
        except AbiDecodeError as exc:
            raise tx.fail(name, f"expected ABI ({','.join(types)}): {exc}") from None

    # -- pool resolution -------------------------------------------------------------------

    def _hop(self, kind: PoolKind, dex: str, token_in: str, token_out: str, fee: int | None) -> SwapHop:
        pool = None
        known = False
        if self.registry is not None:
            info = self.registry.find_pool(dex, token_in, token_out, fee)
            if info is not None:
                pool, known = info.address, True
            else:
                pool = self.registry.pool_address(dex, token_in, token_out, fee)
        return SwapHop(kind, dex, token_in, token_out, fee, pool, known)

    def _dex(self, tx: _Tx, kind: PoolKind, where: str) -> str:
        dex = tx.spec.v2_dex if kind is PoolKind.V2 else tx.spec.v3_dex
        if dex is None:
            raise tx.fail(where, f"router {tx.router} has no {kind.value} DEX in the manifest")
        return dex

    def _emit(self, tx: _Tx, *, method: str, kind: PoolKind, tokens: Sequence[str],
              fees: Sequence[int | None], exact_input: bool, amount: int | None, limit: int,
              recipient: str, chained_sentinel: bool = False, **flags: Any) -> None:
        """Record one swap action. ``tokens``/``fees`` are in token-flow order."""
        dex = self._dex(tx, kind, method)
        if len(tokens) < 2:
            raise tx.fail(method, f"a swap path needs at least two tokens, got {len(tokens)}")
        if any(a == b for a, b in zip(tokens, tokens[1:])):
            raise tx.fail(method, "a swap path repeats a token in consecutive positions")
        hops = tuple(self._hop(kind, dex, tokens[i], tokens[i + 1], fees[i]) for i in range(len(tokens) - 1))
        native_in = flags.pop("native_in", False)
        from_previous = False
        if exact_input and chained_sentinel:
            from_previous = True
            amount = None
            if tx.pending_wrap:
                native_in = True
                amount = tx.pending_wrap_amount
                from_previous = amount is None
        if tx.pending_wrap and not native_in and self.weth is not None and tokens[0] == self.weth:
            native_in = True
        tx.pending_wrap = False
        tx.pending_wrap_amount = None
        tx.intents.append(SwapIntent(
            dex=dex, router_kind=tx.spec.kind, router=tx.router, method=method, hops=hops,
            token_in=tokens[0], token_out=tokens[-1], exact_input=exact_input,
            amount_in=amount if exact_input else None,
            amount_out_min=limit if exact_input else None,
            amount_out=None if exact_input else amount,
            amount_in_max=None if exact_input else limit,
            recipient=recipient, deadline=flags.pop("deadline", tx.deadline), tx_hash=tx.tx_hash,
            position=tx.position, action_index=len(tx.intents), amount_in_from_previous=from_previous,
            native_in=native_in, **flags))

    def _mark_native_out(self, tx: _Tx) -> None:
        if tx.intents:
            tx.intents[-1] = attrs.evolve(tx.intents[-1], native_out=True)

    # -- V2 Router02 and SwapRouter02's V2 functions ---------------------------------------

    def _v2_router02_handler(self, name: str, types: tuple[str, ...], roles: tuple[str, ...],
                             flags: dict[str, bool]) -> Callable[[_Tx, bytes, int], None]:
        exact_input = name.startswith("swapExact")
        with_deadline = types[-1] == "uint256" and len(types) == len(roles) + 3

        def handle(tx: _Tx, calldata: bytes, depth: int) -> None:
            args = self._decode(tx, name, types, calldata[4:])
            amounts = dict(zip(roles, args))
            path = [a.lower() for a in args[len(roles)]]
            recipient = args[len(roles) + 1].lower()
            native_in = flags.get("native_in", False)
            if exact_input:
                amount = tx.value if native_in else amounts["amount_in"]
                limit = amounts["amount_out_min"]
            else:
                amount = amounts["amount_out"]
                limit = tx.value if native_in else amounts["amount_in_max"]
            extra = {"deadline": args[-1]} if with_deadline else {}
            self._emit(tx, method=name, kind=PoolKind.V2, tokens=path, fees=[None] * len(path),
                       exact_input=exact_input, amount=amount, limit=limit, recipient=recipient,
                       chained_sentinel=(tx.spec.kind is RouterKind.V3_SWAP_ROUTER02 and exact_input
                                         and amount == SR02_CONTRACT_BALANCE),
                       **extra, **flags)

        return handle

    # -- V3 SwapRouter and SwapRouter02 ----------------------------------------------------

    def _v3_single_handler(self, name: str, struct: str, exact_input: bool) -> Callable[[_Tx, bytes, int], None]:
        with_deadline = struct == V3_SINGLE_DL

        def handle(tx: _Tx, calldata: bytes, depth: int) -> None:
            (params,) = self._decode(tx, name, (struct,), calldata[4:])
            if with_deadline:
                token_in, token_out, fee, recipient, deadline, amount, limit, sqrt_limit = params
                extra = {"deadline": deadline}
            else:
                token_in, token_out, fee, recipient, amount, limit, sqrt_limit = params
                extra = {}
            token_in, token_out = token_in.lower(), token_out.lower()
            self._emit(tx, method=name, kind=PoolKind.V3, tokens=[token_in, token_out], fees=[fee],
                       exact_input=exact_input, amount=amount, limit=limit, recipient=recipient.lower(),
                       chained_sentinel=(not with_deadline and exact_input and amount == SR02_CONTRACT_BALANCE),
                       sqrt_price_limit_x96=sqrt_limit, native_in=self._pays_eth(tx, token_in), **extra)

        return handle

    def _v3_path_handler(self, name: str, struct: str, exact_input: bool) -> Callable[[_Tx, bytes, int], None]:
        with_deadline = struct == V3_PATH_DL

        def handle(tx: _Tx, calldata: bytes, depth: int) -> None:
            (params,) = self._decode(tx, name, (struct,), calldata[4:])
            if with_deadline:
                path, recipient, deadline, amount, limit = params
                extra = {"deadline": deadline}
            else:
                path, recipient, amount, limit = params
                extra = {}
            tokens, fees = self._path(tx, name, path, reverse=not exact_input)
            self._emit(tx, method=name, kind=PoolKind.V3, tokens=tokens, fees=fees, exact_input=exact_input,
                       amount=amount, limit=limit, recipient=recipient.lower(),
                       chained_sentinel=(not with_deadline and exact_input and amount == SR02_CONTRACT_BALANCE),
                       native_in=self._pays_eth(tx, tokens[0]), **extra)

        return handle

    def _path(self, tx: _Tx, where: str, path: bytes, *, reverse: bool) -> tuple[list[str], list[int | None]]:
        try:
            tokens, fees = decode_v3_path(path)
        except ValueError as exc:
            raise tx.fail(f"{where}:path", str(exc)) from None
        if reverse:
            tokens.reverse()
            fees.reverse()
        return tokens, list(fees)

    def _pays_eth(self, tx: _Tx, token_in: str) -> bool:
        """The V3 routers wrap msg.value when the input token is WETH."""
        return tx.value > 0 and (self.weth is None or token_in == self.weth)

    def _multicall_handler(self, head: tuple[str, ...], *, deadline: bool = False
                           ) -> Callable[[_Tx, bytes, int], None]:
        types = (*head, "bytes[]")

        def handle(tx: _Tx, calldata: bytes, depth: int) -> None:
            if depth >= self.max_multicall_depth:
                raise tx.fail("multicall", f"nested deeper than {self.max_multicall_depth} levels")
            args = self._decode(tx, "multicall", types, calldata[4:])
            if deadline:
                tx.deadline = args[0]
            for call in args[-1]:
                self._call(tx, call, depth + 1)

        return handle

    def _unwrap_handler(self, tx: _Tx, calldata: bytes, depth: int) -> None:
        self._mark_native_out(tx)

    def _sr02_wrap(self, tx: _Tx, calldata: bytes, depth: int) -> None:
        (amount,) = self._decode(tx, "wrapETH", ("uint256",), calldata[4:])
        tx.pending_wrap = True
        tx.pending_wrap_amount = amount

    # -- Universal Router ------------------------------------------------------------------

    def _ur_execute_handler(self, *, with_deadline: bool) -> Callable[[_Tx, bytes, int], None]:
        types = ("bytes", "bytes[]", "uint256") if with_deadline else ("bytes", "bytes[]")

        def handle(tx: _Tx, calldata: bytes, depth: int) -> None:
            args = self._decode(tx, "execute", types, calldata[4:])
            commands, inputs = args[0], args[1]
            if with_deadline:
                tx.deadline = args[2]
            if len(commands) != len(inputs):
                raise tx.fail("execute", f"{len(commands)} commands but {len(inputs)} inputs")
            for index, (command, data) in enumerate(zip(commands, inputs)):
                self._ur_command(tx, index, command, data)

        return handle

    def _ur_command(self, tx: _Tx, index: int, command: int, data: bytes) -> None:
        kind = command & UR_COMMAND_TYPE_MASK
        allow_revert = bool(command & UR_FLAG_ALLOW_REVERT)
        name = UR_COMMAND_NAMES.get(kind)
        if name is None:
            self.counters["skipped_command"] += 1
            return
        where = f"execute:command[{index}]:{name}"
        if kind in (UR_WRAP_ETH, UR_UNWRAP_WETH):
            _recipient, amount_min = self._decode(tx, where, _UR_WRAP_TYPES, data)
            if kind == UR_UNWRAP_WETH:
                self._mark_native_out(tx)
            else:
                tx.pending_wrap = True
                tx.pending_wrap_amount = tx.value if amount_min == UR_CONTRACT_BALANCE else amount_min
            return
        is_v2 = kind in (UR_V2_SWAP_EXACT_IN, UR_V2_SWAP_EXACT_OUT)
        exact_input = kind in (UR_V2_SWAP_EXACT_IN, UR_V3_SWAP_EXACT_IN)
        recipient, amount, limit, path, _payer_is_user = self._decode(
            tx, where, _UR_V2_SWAP_TYPES if is_v2 else _UR_SWAP_TYPES, data)
        if is_v2:
            tokens = [a.lower() for a in path]
            fees: list[int | None] = [None] * len(tokens)
        else:
            tokens, fees = self._path(tx, where, path, reverse=not exact_input)
        self._emit(tx, method=name, kind=PoolKind.V2 if is_v2 else PoolKind.V3, tokens=tokens, fees=fees,
                   exact_input=exact_input, amount=amount, limit=limit, recipient=recipient.lower(),
                   chained_sentinel=exact_input and amount == UR_CONTRACT_BALANCE, allow_revert=allow_revert)


def routers_from_manifest(manifest: Mapping[str, Any]) -> dict[str, RouterSpec]:
    """Router address -> :class:`RouterSpec` from a deployment manifest.

    From the devnet manifest's ``contracts``: a DEX's ``router`` is a V2 Router02 of that DEX,
    its ``swap_router`` a V3 SwapRouter. An explicit ``routers`` list (address, kind — a
    :class:`RouterKind` value —, v2_dex, v3_dex) adds SwapRouter02 / Universal Router
    deployments, which name the DEXes they route through.
    """
    from mevbot.pools.errors import ManifestError
    from mevbot.pools.registry import _entries, normalize_address

    out = {}
    for name, entry in (manifest.get("contracts") or {}).items():
        if not isinstance(entry, Mapping):
            continue
        if "router" in entry:
            out[normalize_address(entry["router"], f"contracts.{name}.router")] = RouterSpec(
                RouterKind.V2_ROUTER02, v2_dex=name)
        if "swap_router" in entry:
            out[normalize_address(entry["swap_router"], f"contracts.{name}.swap_router")] = RouterSpec(
                RouterKind.V3_SWAP_ROUTER, v3_dex=name)
    for i, entry in enumerate(_entries(manifest.get("routers", ()))):
        where = f"routers[{i}]"
        try:
            kind = RouterKind(str(entry["kind"]))
        except (KeyError, ValueError):
            raise ManifestError(f"{where}.kind", f"expected one of {[k.value for k in RouterKind]}") from None
        out[normalize_address(entry.get("address"), f"{where}.address")] = RouterSpec(
            kind, entry.get("v2_dex"), entry.get("v3_dex"))
    return out


def parser_from_manifest(manifest: Mapping[str, Any], registry: Any) -> CalldataParser:
    """The calldata parser for a deployment: its routers and WETH, resolving through ``registry``."""
    from mevbot.pools.registry import weth_from_manifest

    return CalldataParser(registry, routers_from_manifest(manifest), weth=weth_from_manifest(manifest))
