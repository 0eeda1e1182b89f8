"""Router calldata to swap intents: every router function, multicall nesting, Universal
Router command mixes, unknown pools and malformed input. Calldata is built with eth_abi.encode
from the published signatures (tests/parser/builders.py), independently of the parser."""

import pytest

from mevbot.parser.calldata import CalldataParser
from mevbot.parser.messages import FeedPosition, PoolKind, RouterKind
from tests.parser.builders import (ADDRESS_THIS, MSG_SENDER, ROUTERS, SR02, SUSHI_FACTORY, SUSHI_ROUTER, UNLISTED,
                                   UR, UR_BALANCE, USER, V2_ROUTER, V3_ROUTER, WETH, A, B, C, call, make_registry,
                                   ur_execute, ur_swap, ur_wrap, v2, v3, v3_path)

POS = FeedPosition(seq=42, tx_index=3)
TX = "0x" + "ab" * 32


@pytest.fixture
def parser():
    return CalldataParser(make_registry(), ROUTERS, weth=WETH)


def parse(parser, to, data, value=0):
    return parser.parse(to, data, value, tx_hash=TX, position=POS)


# -- Uniswap V2 Router02 / SushiSwap ---------------------------------------------------------

V2_CASES = [
    # name, types, args, value, expected (exact_input, amount_in, out_min, amount_out, in_max), flags
    ("swapExactTokensForTokens", "uint256,uint256,address[],address,uint256", [100, 90, [A, B], USER, 7], 0,
     (True, 100, 90, None, None), {}),
    ("swapTokensForExactTokens", "uint256,uint256,address[],address,uint256", [100, 110, [A, B], USER, 7], 0,
     (False, None, None, 100, 110), {}),
    ("swapExactETHForTokens", "uint256,address[],address,uint256", [90, [WETH, B], USER, 7], 5000,
     (True, 5000, 90, None, None), {"native_in": True}),
    ("swapTokensForExactETH", "uint256,uint256,address[],address,uint256", [100, 110, [A, WETH], USER, 7], 0,
     (False, None, None, 100, 110), {"native_out": True}),
    ("swapExactTokensForETH", "uint256,uint256,address[],address,uint256", [100, 90, [A, WETH], USER, 7], 0,
     (True, 100, 90, None, None), {"native_out": True}),
    ("swapETHForExactTokens", "uint256,address[],address,uint256", [100, [WETH, B], USER, 7], 5000,
     (False, None, None, 100, 5000), {"native_in": True}),
    ("swapExactTokensForTokensSupportingFeeOnTransferTokens", "uint256,uint256,address[],address,uint256",
     [100, 90, [A, B], USER, 7], 0, (True, 100, 90, None, None), {"fee_on_transfer": True}),
    ("swapExactETHForTokensSupportingFeeOnTransferTokens", "uint256,address[],address,uint256",
     [90, [WETH, B], USER, 7], 5000, (True, 5000, 90, None, None), {"native_in": True, "fee_on_transfer": True}),
    ("swapExactTokensForETHSupportingFeeOnTransferTokens", "uint256,uint256,address[],address,uint256",
     [100, 90, [A, WETH], USER, 7], 0, (True, 100, 90, None, None), {"native_out": True, "fee_on_transfer": True}),
]


@pytest.mark.parametrize("router, dex, factory", [(V2_ROUTER, "uniswap_v2", None), (SUSHI_ROUTER, "sushiswap", SUSHI_FACTORY)])
@pytest.mark.parametrize("name, types, args, value, expected, flags", V2_CASES, ids=[c[0] for c in V2_CASES])
def test_every_v2_router02_swap_decodes_to_its_pool_tokens_amounts_and_flags(
        parser, router, dex, factory, name, types, args, value, expected, flags):
    data = call(f"{name}({types})", types.split(","), args)
    (intent,) = parse(parser, router, data, value)
    path = args[-3]
    assert intent.method == name and intent.dex == dex and intent.router_kind is RouterKind.V2_ROUTER02
    assert (intent.exact_input, intent.amount_in, intent.amount_out_min, intent.amount_out,
            intent.amount_in_max) == expected
    assert intent.path == tuple(path) and intent.token_in == path[0] and intent.token_out == path[-1]
    assert intent.pools == (v2(*path, factory) if factory else v2(*path),)
    assert intent.all_pools_known
    assert intent.recipient == USER and intent.deadline == 7
    assert intent.tx_hash == TX and intent.position == POS
    for flag in ("native_in", "native_out", "fee_on_transfer"):
        assert getattr(intent, flag) == flags.get(flag, False), flag


def test_a_v2_multi_hop_path_touches_each_pair_in_order_with_amounts_flowing_between_hops(parser):
    data = call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                ["uint256", "uint256", "address[]", "address", "uint256"], [100, 1, [A, B, C], USER, 7])
    (intent,) = parse(parser, V2_ROUTER, data)
    assert intent.pools == (v2(A, B), v2(B, C))
    assert [(h.token_in, h.token_out) for h in intent.hops] == [(A, B), (B, C)]
    assert intent.amount_in == 100 and intent.amount_out_min == 1


def test_a_hop_through_an_unknown_pair_is_reported_unknown_with_its_create2_address(parser):
    data = call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                ["uint256", "uint256", "address[]", "address", "uint256"], [100, 1, [A, B, UNLISTED], USER, 7])
    (intent,) = parse(parser, V2_ROUTER, data)
    assert [h.known for h in intent.hops] == [True, False]
    assert intent.hops[1].pool == v2(B, UNLISTED)
    assert parser.counters["unknown_pool"] == 1


# -- Uniswap V3 SwapRouter -------------------------------------------------------------------

SINGLE_DL = "(address,address,uint24,address,uint256,uint256,uint256,uint160)"
PATH_DL = "(bytes,address,uint256,uint256,uint256)"


def test_v3_exact_input_single_carries_fee_pool_limit_and_deadline(parser):
    data = call(f"exactInputSingle({SINGLE_DL})", [SINGLE_DL], [(A, B, 500, USER, 9, 1000, 900, 12345)])
    (intent,) = parse(parser, V3_ROUTER, data)
    assert intent.router_kind is RouterKind.V3_SWAP_ROUTER and intent.dex == "uniswap_v3"
    assert intent.hops[0].kind is PoolKind.V3 and intent.hops[0].fee_pips == 500
    assert intent.pools == (v3(A, B, 500),) and intent.all_pools_known
    assert (intent.exact_input, intent.amount_in, intent.amount_out_min) == (True, 1000, 900)
    assert intent.sqrt_price_limit_x96 == 12345 and intent.deadline == 9 and not intent.native_in


def test_v3_exact_output_single_is_an_exact_output_swap(parser):
    data = call(f"exactOutputSingle({SINGLE_DL})", [SINGLE_DL], [(WETH, B, 3000, USER, 9, 1000, 1100, 0)])
    (intent,) = parse(parser, V3_ROUTER, data, value=1100)
    assert (intent.exact_input, intent.amount_out, intent.amount_in_max) == (False, 1000, 1100)
    assert intent.pools == (v3(WETH, B, 3000),) and intent.native_in


def test_v3_exact_input_decodes_the_packed_path_into_hops(parser):
    data = call(f"exactInput({PATH_DL})", [PATH_DL], [(v3_path(A, 500, B, 3000, C), USER, 9, 1000, 1)])
    (intent,) = parse(parser, V3_ROUTER, data)
    assert intent.path == (A, B, C)
    assert [h.fee_pips for h in intent.hops] == [500, 3000]
    assert intent.pools == (v3(A, B, 500), v3(B, C, 3000))


def test_v3_exact_output_path_is_encoded_backwards_and_reported_in_flow_order(parser):
    data = call(f"exactOutput({PATH_DL})", [PATH_DL], [(v3_path(C, 3000, B, 500, A), USER, 9, 1000, 2000)])
    (intent,) = parse(parser, V3_ROUTER, data)
    assert intent.token_in == A and intent.token_out == C and intent.path == (A, B, C)
    assert intent.pools == (v3(A, B, 500), v3(B, C, 3000))
    assert (intent.amount_out, intent.amount_in_max) == (1000, 2000)


def test_v3_multicall_with_unwrap_marks_the_swap_native_out(parser):
    swap = call(f"exactInputSingle({SINGLE_DL})", [SINGLE_DL], [(A, WETH, 500, V3_ROUTER, 9, 1000, 900, 0)])
    unwrap = call("unwrapWETH9(uint256,address)", ["uint256", "address"], [900, USER])
    (intent,) = parse(parser, V3_ROUTER, call("multicall(bytes[])", ["bytes[]"], [[swap, unwrap]]))
    assert intent.native_out and intent.token_out == WETH


# -- SwapRouter02 ----------------------------------------------------------------------------

SINGLE = "(address,address,uint24,address,uint256,uint256,uint160)"
PATH = "(bytes,address,uint256,uint256)"


def _sr02_calls():
    return [
        call(f"exactInputSingle({SINGLE})", [SINGLE], [(A, B, 500, USER, 1000, 900, 0)]),
        call(f"exactInput({PATH})", [PATH], [(v3_path(A, 500, B, 3000, C), USER, 1000, 1)]),
        call(f"exactOutputSingle({SINGLE})", [SINGLE], [(A, B, 500, USER, 1000, 1100, 0)]),
        call(f"exactOutput({PATH})", [PATH], [(v3_path(C, 3000, B, 500, A), USER, 1000, 2000)]),
        call("swapExactTokensForTokens(uint256,uint256,address[],address)",
             ["uint256", "uint256", "address[]", "address"], [1000, 900, [A, B, C], USER]),
        call("swapTokensForExactTokens(uint256,uint256,address[],address)",
             ["uint256", "uint256", "address[]", "address"], [1000, 1100, [A, B], USER]),
    ]


def test_swap_router02_functions_decode_without_deadline_in_their_params(parser):
    intents = [parse(parser, SR02, data)[0] for data in _sr02_calls()]
    assert [i.method for i in intents] == ["exactInputSingle", "exactInput", "exactOutputSingle", "exactOutput",
                                           "swapExactTokensForTokens", "swapTokensForExactTokens"]
    assert [i.exact_input for i in intents] == [True, True, False, False, True, False]
    assert [i.dex for i in intents] == ["uniswap_v3"] * 4 + ["uniswap_v2"] * 2
    assert intents[1].pools == (v3(A, B, 500), v3(B, C, 3000)) and intents[3].path == (A, B, C)
    assert intents[4].pools == (v2(A, B), v2(B, C))
    assert all(i.deadline is None and i.all_pools_known for i in intents)


@pytest.mark.parametrize("signature, head, deadline", [
    ("multicall(uint256,bytes[])", [("uint256", 1234)], 1234),
    ("multicall(bytes32,bytes[])", [("bytes32", b"\x11" * 32)], None),
    ("multicall(bytes[])", [], None),
])
def test_swap_router02_multicall_with_and_without_deadline_yields_each_swap_in_order(parser, signature, head, deadline):
    calls = _sr02_calls()
    data = call(signature, [t for t, _ in head] + ["bytes[]"], [v for _, v in head] + [calls])
    intents = parse(parser, SR02, data)
    assert [i.action_index for i in intents] == list(range(6))
    assert all(i.deadline == deadline for i in intents)


def test_swap_router02_amount_in_zero_spends_the_previous_swaps_output(parser):
    first = call(f"exactInputSingle({SINGLE})", [SINGLE], [(A, B, 500, ADDRESS_THIS, 1000, 0, 0)])
    second = call("swapExactTokensForTokens(uint256,uint256,address[],address)",
                  ["uint256", "uint256", "address[]", "address"], [0, 900, [B, C], MSG_SENDER])
    one, two = parse(parser, SR02, call("multicall(uint256,bytes[])", ["uint256", "bytes[]"], [5, [first, second]]))
    assert one.amount_in == 1000 and not one.amount_in_from_previous
    assert two.amount_in is None and two.amount_in_from_previous and two.recipient == MSG_SENDER


def test_a_multicall_nested_in_a_multicall_is_decoded_up_to_the_depth_limit(parser):
    inner = call("multicall(bytes[])", ["bytes[]"], [_sr02_calls()[:1]])
    assert len(parse(parser, SR02, call("multicall(bytes[])", ["bytes[]"], [[inner]]))) == 1
    deep = inner
    for _ in range(3):
        deep = call("multicall(bytes[])", ["bytes[]"], [[deep]])
    assert parse(parser, SR02, deep) == []
    assert parser.counters["calldata_decode_error"] == 1


def test_swap_router02_wrap_then_swap_of_the_balance_is_native_in_with_the_wrapped_amount(parser):
    wrap = call("wrapETH(uint256)", ["uint256"], [777])
    swap = call(f"exactInputSingle({SINGLE})", [SINGLE], [(WETH, B, 3000, USER, 0, 1, 0)])
    (intent,) = parse(parser, SR02, call("multicall(bytes[])", ["bytes[]"], [[wrap, swap]]), value=777)
    assert intent.native_in and intent.amount_in == 777 and not intent.amount_in_from_previous


# -- Universal Router ------------------------------------------------------------------------

def test_universal_router_mix_of_wrap_v3_v2_and_unwrap(parser):
    commands = bytes([0x0B, 0x00, 0x09, 0x0C])
    inputs = [
        ur_wrap(ADDRESS_THIS, UR_BALANCE),
        ur_swap(ADDRESS_THIS, UR_BALANCE, 50, v3_path(WETH, 3000, B), False),
        ur_swap(ADDRESS_THIS, 10, 20, [A, WETH]),
        ur_wrap(USER, 10),
    ]
    v3_in, v2_out = parse(parser, UR, ur_execute(commands, inputs, deadline=99), value=1000)
    assert v3_in.method == "V3_SWAP_EXACT_IN" and v3_in.dex == "uniswap_v3"
    assert v3_in.native_in and v3_in.amount_in == 1000 and v3_in.amount_out_min == 50
    assert v3_in.pools == (v3(WETH, B, 3000),) and v3_in.deadline == 99
    assert v2_out.method == "V2_SWAP_EXACT_OUT" and v2_out.dex == "uniswap_v2"
    assert (v2_out.exact_input, v2_out.amount_out, v2_out.amount_in_max) == (False, 10, 20)
    assert v2_out.pools == (v2(A, WETH),) and v2_out.native_out


def test_universal_router_v3_exact_out_path_is_reversed_and_contract_balance_chains(parser):
    commands = bytes([0x01, 0x08])
    inputs = [ur_swap(ADDRESS_THIS, 500, 600, v3_path(C, 3000, B, 500, A)),
              ur_swap(MSG_SENDER, UR_BALANCE, 1, [C, B])]
    exact_out, chained = parse(parser, UR, ur_execute(commands, inputs))
    assert exact_out.path == (A, B, C) and exact_out.pools == (v3(A, B, 500), v3(B, C, 3000))
    assert exact_out.deadline is None
    assert chained.amount_in is None and chained.amount_in_from_previous and chained.pools == (v2(B, C),)


def test_universal_router_allow_revert_flag_is_kept_and_does_not_change_the_command(parser):
    commands = bytes([0x80 | 0x08, 0x00])
    inputs = [ur_swap(USER, 10, 1, [A, B]), ur_swap(USER, 10, 1, v3_path(A, 500, B))]
    flagged, plain = parse(parser, UR, ur_execute(commands, inputs, deadline=1))
    assert flagged.method == "V2_SWAP_EXACT_IN" and flagged.allow_revert
    assert plain.method == "V3_SWAP_EXACT_IN" and not plain.allow_revert


def test_universal_router_commands_other_than_swaps_are_skipped(parser):
    permit2_transfer = b"\x00" * 96
    commands = bytes([0x02, 0x08, 0x04])
    inputs = [permit2_transfer, ur_swap(USER, 10, 1, [A, B]), b"\x00" * 96]
    (intent,) = parse(parser, UR, ur_execute(commands, inputs, deadline=1))
    assert intent.method == "V2_SWAP_EXACT_IN" and intent.action_index == 0
    assert parser.counters["skipped_command"] == 2


# -- unrelated and malformed input -----------------------------------------------------------

def test_calls_to_other_contracts_or_non_swap_functions_yield_nothing(parser):
    swap = call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                ["uint256", "uint256", "address[]", "address", "uint256"], [1, 1, [A, B], USER, 7])
    assert parse(parser, "0x" + "99" * 20, swap) == []
    assert parse(parser, None, swap) == []
    assert parse(parser, V2_ROUTER, call("addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)",
                                          ["address", "address"] + ["uint256"] * 4 + ["address", "uint256"],
                                          [A, B, 1, 1, 1, 1, USER, 1])) == []
    assert parse(parser, V2_ROUTER, b"") == []
    assert parser.counters["unrelated"] == 4 and parser.counters["calldata_decode_error"] == 0


def test_router_address_may_be_given_as_bytes(parser):
    swap = call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                ["uint256", "uint256", "address[]", "address", "uint256"], [1, 1, [A, B], USER, 7])
    assert len(parse(parser, bytes.fromhex(V2_ROUTER[2:]), swap)) == 1


@pytest.mark.parametrize("to, data", [
    (V2_ROUTER, call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                     ["uint256", "uint256", "address[]", "address", "uint256"], [1, 1, [A, B], USER, 7])[:-40]),
    (V2_ROUTER, call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                     ["uint256", "uint256", "address[]", "address", "uint256"], [1, 1, [A], USER, 7])),
    (V3_ROUTER, call(f"exactInput({PATH_DL})", [PATH_DL], [(b"\x01" * 30, USER, 9, 1000, 1)])),
    (UR, ur_execute(bytes([0x08, 0x08]), [ur_swap(USER, 10, 1, [A, B])], deadline=1)),
    (UR, ur_execute(bytes([0x00]), [b"\x01" * 10], deadline=1)),
])
def test_malformed_calldata_is_counted_as_a_decode_error_and_yields_nothing(parser, to, data):
    assert parse(parser, to, data) == []
    assert parser.counters["calldata_decode_error"] == 1
    assert parser.counters["internal_error"] == 0


def test_a_router_without_a_v3_dex_rejects_v3_commands_as_a_decode_error():
    from mevbot.parser.calldata import RouterSpec
    parser = CalldataParser(make_registry(), {UR: RouterSpec(RouterKind.UNIVERSAL_ROUTER, v2_dex="uniswap_v2")})
    assert parse(parser, UR, ur_execute(bytes([0x00]), [ur_swap(USER, 1, 1, v3_path(A, 500, B))])) == []
    assert parser.counters["calldata_decode_error"] == 1


# -- sequencer-feed transactions -------------------------------------------------------------

def _signed(to, data, value=0):
    from eth_account import Account

    from tests.fixtures.anvil import DEV_PRIVATE_KEY  # anvil's public, worthless dev key
    tx = {"type": 2, "chainId": 42161, "nonce": 7, "to": to, "value": value, "data": data, "gas": 300_000,
          "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 0}
    return Account.sign_transaction(tx, DEV_PRIVATE_KEY)


def test_a_signed_feed_transaction_to_a_router_yields_intents_with_its_hash_and_position(parser):
    from mevbot.feed.transactions import FeedTransaction

    data = call("swapExactETHForTokens(uint256,address[],address,uint256)",
                ["uint256", "address[]", "address", "uint256"], [1, [WETH, B], USER, 7])
    signed = _signed(V2_ROUTER, data, value=123)
    (intent,) = parser.parse_feed_transaction(FeedTransaction(bytes(signed.raw_transaction), index=5), seq=99)
    assert intent.tx_hash == "0x" + bytes(signed.hash).hex() and intent.position == FeedPosition(99, 5)
    assert intent.amount_in == 123 and intent.native_in


def test_feed_transactions_to_other_contracts_or_with_broken_envelopes_yield_nothing(parser):
    from mevbot.feed.transactions import FeedTransaction

    other = _signed("0x" + "99" * 20, b"\x01\x02\x03\x04")
    assert parser.parse_feed_transaction(FeedTransaction(bytes(other.raw_transaction), index=0), seq=1) == []
    broken = bytes(_signed(V2_ROUTER, b"\x00" * 40).raw_transaction)[:30]
    assert parser.parse_feed_transaction(FeedTransaction(broken, index=0), seq=1) == []
    assert parser.counters["unrelated"] == 1 and parser.counters["tx_decode_error"] == 1


def test_a_decode_error_names_router_function_and_field(parser, caplog):
    data = call(f"exactInput({PATH_DL})", [PATH_DL], [(b"\x01" * 30, USER, 9, 1000, 1)])
    assert parse(parser, V3_ROUTER, data) == []
    (record,) = [r for r in caplog.records if "skipped tx" in r.getMessage()]
    message = record.getMessage()
    assert V3_ROUTER in message and "exactInput" in message and "path" in message and "30 bytes" in message
