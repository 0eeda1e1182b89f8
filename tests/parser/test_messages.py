"""The parser's messages survive the bus's JSON converter unchanged (enums, nested hops,
tuples, 256-bit integers, None)."""

import json

from mevbot.bus.codec import converter
from mevbot.parser.calldata import CalldataParser
from mevbot.parser.messages import FeedPosition, PoolUpdate, PoolUpdateKind, SwapIntent
from tests.parser.builders import (ADDRESS_THIS, ROUTERS, UR, UR_BALANCE, USER, WETH, A, B, make_registry, ur_execute,
                                   ur_swap, ur_wrap, v3_path)


def roundtrip(value, cls):
    return converter.structure(json.loads(json.dumps(converter.unstructure(value, cls))), cls)


def test_swap_intents_round_trip_through_the_bus_converter():
    parser = CalldataParser(make_registry(), ROUTERS, weth=WETH)
    data = ur_execute(bytes([0x0B, 0x00, 0x88]), [ur_wrap(ADDRESS_THIS, UR_BALANCE),
                                                  ur_swap(ADDRESS_THIS, UR_BALANCE, 2**255, v3_path(WETH, 500, A)),
                                                  ur_swap(USER, 5, 1, [A, B])], deadline=2**64)
    intents = parser.parse(UR, data, 10**18, tx_hash="0x" + "ab" * 32, position=FeedPosition(7, 2))
    assert len(intents) == 2
    for intent in intents:
        again = roundtrip(intent, SwapIntent)
        assert again == intent and again.pools == intent.pools


def test_pool_updates_round_trip_through_the_bus_converter():
    update = PoolUpdate(PoolUpdateKind.V3_SWAP, "0x" + "9a" * 20, 5, 1, "0x" + "cd" * 32, amount0=-(2**255),
                        amount1=2**255 - 1, sqrt_price_x96=2**160 - 1, liquidity=2**128 - 1, tick=-887272)
    assert roundtrip(update, PoolUpdate) == update
