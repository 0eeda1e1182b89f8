"""Message classes used by the bus tests (stand-ins for the domain classes of other packages)."""

from __future__ import annotations

import struct

import attrs

from mevbot.bus.registry import register_message


@attrs.frozen
class Tick:
    seq: int
    note: str = ""


@attrs.frozen
class Quote:
    pool: bytes
    amount_in_wei: int
    amount_out_wei: int
    block: int
    dex: str = "uniswap-v2"
    path: list[str] = attrs.field(factory=list)


@attrs.frozen
class Blob:
    data: bytes


_TICK = struct.Struct("<q")


def pack_tick(t: Tick) -> bytes:
    return _TICK.pack(t.seq) + t.note.encode()


def unpack_tick(body: bytes) -> Tick:
    return Tick(_TICK.unpack_from(body)[0], body[8:].decode())


register_message(Tick, "test.tick", 1, pack=pack_tick, unpack=unpack_tick)
register_message(Quote, "test.quote", 1)
register_message(Blob, "test.blob", 1)
