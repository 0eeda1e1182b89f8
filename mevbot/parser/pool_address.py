"""CREATE2 addresses of Uniswap-style pools: a pure function of factory, init code hash and key.

A V2 pair's salt is ``keccak(token0 ++ token1)`` (20-byte packed addresses); a V3 pool's salt
is ``keccak(abi.encode(token0, token1, fee))`` (three 32-byte words). Tokens are sorted
numerically first, as both factories do, so callers may pass them in any order. Verified
against mainnet pairs in tests/parser/test_pool_address.py.
"""

from __future__ import annotations

from eth_utils import keccak


def _address_bytes(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address[:2] in ("0x", "0X") else address)
    if len(raw) != 20:
        raise ValueError(f"address {address!r} is {len(raw)} bytes, expected 20")
    return raw


def _hash_bytes(init_code_hash: str) -> bytes:
    raw = bytes.fromhex(init_code_hash[2:] if init_code_hash[:2] in ("0x", "0X") else init_code_hash)
    if len(raw) != 32:
        raise ValueError(f"init code hash {init_code_hash!r} is {len(raw)} bytes, expected 32")
    return raw


def sort_tokens(token_a: str, token_b: str) -> tuple[str, str]:
    """Lowercase 0x-hex tokens in the factories' order (numeric, i.e. lowercase-hex order)."""
    a, b = token_a.lower(), token_b.lower()
    if a == b:
        raise ValueError(f"identical tokens {a}: a pool needs two different tokens")
    return (a, b) if a < b else (b, a)


def create2_address(deployer: str, salt: bytes, init_code_hash: str) -> str:
    digest = keccak(b"\xff" + _address_bytes(deployer) + salt + _hash_bytes(init_code_hash))
    return "0x" + digest[12:].hex()


def v2_pair_address(factory: str, init_code_hash: str, token_a: str, token_b: str) -> str:
    """Address of the V2 pair of two tokens (lowercase 0x-hex), whether deployed or not."""
    token0, token1 = sort_tokens(token_a, token_b)
    salt = keccak(_address_bytes(token0) + _address_bytes(token1))
    return create2_address(factory, salt, init_code_hash)


def v3_pool_address(factory: str, init_code_hash: str, token_a: str, token_b: str, fee: int) -> str:
    """Address of the V3 pool of two tokens and a fee tier (pips), whether deployed or not."""
    token0, token1 = sort_tokens(token_a, token_b)
    if not 0 <= fee < 1 << 24:
        raise ValueError(f"fee {fee} does not fit uint24")
    salt = keccak(
        b"\x00" * 12 + _address_bytes(token0) + b"\x00" * 12 + _address_bytes(token1)
        + fee.to_bytes(32, "big")
    )
    return create2_address(factory, salt, init_code_hash)
