"""EIP-55 checksummed addresses from 20 raw bytes, cached.

A feed's transactions go to a few hundred routers and pools again and again, so the
checksummed form (one keccak each) is worth remembering. The cache is bounded: when it is
full it is cleared, which keeps the hot path a single dict lookup without an LRU's bookkeeping.
"""

from __future__ import annotations

from mevbot.feed.keccak import keccak256

CACHE_LIMIT = 16384
_cache: dict[bytes, str] = {}


def checksum_address(address: bytes) -> str:
    """``0x``-prefixed EIP-55 form of a 20-byte address."""
    try:
        return _cache[address]
    except KeyError:
        pass
    if len(address) != 20:
        raise ValueError(f"an address is 20 bytes, got {len(address)}")
    lower = address.hex()
    mask = keccak256(lower.encode("ascii")).hex()
    checksummed = "0x" + "".join(
        c.upper() if c > "9" and mask[i] > "7" else c for i, c in enumerate(lower)
    )
    if len(_cache) >= CACHE_LIMIT:
        _cache.clear()
    _cache[address] = checksummed
    return checksummed


def parse_address(text: str) -> bytes:
    """20 bytes from a ``0x``-hex address (any case); ValueError otherwise."""
    raw = text[2:] if text[:2] in ("0x", "0X") else text
    if len(raw) != 40:
        raise ValueError(f"an address is 40 hex digits, got {text!r}")
    return bytes.fromhex(raw)
