"""Messages the buses of two processes exchange on a link (registered like any other type).

``Hello`` opens every connection (who I am, which lane, what I subscribe to); ``Interest``
updates the subscription patterns; ``Ack`` confirms critical messages by id once the receiver
has handled them (and journalled their ids as seen), so the sender can forget them.
"""

from __future__ import annotations

import struct

import attrs

from mevbot.bus.registry import register_message

LINK_TOPIC = "_link"


@attrs.frozen
class Hello:
    process: str
    lane: str
    patterns: list[str]


@attrs.frozen
class Interest:
    patterns: list[str]


@attrs.frozen
class Ack:
    ids: list[int]


def _pack_ack(ack: Ack) -> bytes:
    return b"".join(struct.pack("<QQ", i >> 64, i & 0xFFFFFFFFFFFFFFFF) for i in ack.ids)


def _unpack_ack(body: bytes) -> Ack:
    if len(body) % 16:
        raise ValueError(f"ack body of {len(body)} bytes is not a multiple of 16")
    return Ack([(hi << 64) | lo for hi, lo in struct.iter_unpack("<QQ", body)])


def register_protocol() -> None:
    register_message(Hello, "bus.hello", 1)
    register_message(Interest, "bus.interest", 1)
    register_message(Ack, "bus.ack", 1, pack=_pack_ack, unpack=_unpack_ack)


register_protocol()
