"""Calldata from human-readable signatures, so deploy and trader code reads like Solidity.

``encode_call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)", ...)``
gives selector + eth-abi encoding of the arguments; tuples are written ``(address,uint24,...)``
exactly as eth-abi expects. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak


def split_types(type_list: str) -> list[str]:
    """Split ``"address,(uint24,address),uint256[]"`` at top-level commas."""
    types: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(type_list):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            types.append(type_list[start:i])
            start = i + 1
    tail = type_list[start:]
    if tail:
        types.append(tail)
    return types


def argument_types(signature: str) -> list[str]:
    """The argument types of ``name(type,...)``."""
    open_at = signature.index("(")
    if not signature.endswith(")"):
        raise ValueError(f"function signature {signature!r} must end with ')'")
    return split_types(signature[open_at + 1:-1])


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def encode_call(signature: str, *args: Any) -> bytes:
    """Selector followed by the ABI encoding of ``args`` for ``signature``."""
    return selector(signature) + abi_encode(argument_types(signature), list(args))


def encode_args(types: list[str], *args: Any) -> bytes:
    return abi_encode(types, list(args))


def decode_result(types: list[str], data: bytes) -> tuple[Any, ...]:
    return tuple(abi_decode(types, data))
