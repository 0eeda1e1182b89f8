"""Messages become rows: queryable columns plus the full payload as JSON, nothing lost."""

from __future__ import annotations

import json

import pytest

from mevbot.store import rows
from mevbot.store.rows import Meta, rows_for
from tests.store import messages as m

META = Meta(created_s=1_764_000_000.25, topic="x", message_id="ab" * 16, trace_id="cd" * 16, source="parser")


def test_the_store_spells_each_topic_as_its_producer_declares_it():
    from mevbot.execution.engine import TOPIC_REQUEST, TOPIC_RESULT
    from mevbot.parser.messages import TOPIC_POOL_UPDATE, TOPIC_SWAP_INTENT
    from mevbot.risk.rules import TOPIC_DECISION
    from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY

    assert (rows.TOPIC_SWAP_INTENT, rows.TOPIC_POOL_UPDATE, rows.TOPIC_OPPORTUNITY, rows.TOPIC_DECISION,
            rows.TOPIC_EXEC_REQUEST, rows.TOPIC_EXEC_RESULT) == (
        TOPIC_SWAP_INTENT, TOPIC_POOL_UPDATE, TOPIC_OPPORTUNITY, TOPIC_DECISION, TOPIC_REQUEST, TOPIC_RESULT)


@pytest.mark.parametrize(("topic", "message", "table"), m.EVERY_TOPIC, ids=[t for t, _, _ in m.EVERY_TOPIC])
def test_each_stored_topic_becomes_a_row_with_its_full_payload(topic, message, table):
    [(got_table, row)] = rows_for(topic, message, META)
    assert got_table == table
    assert row["ts"] == META.created_s and row["trace_id"] == META.trace_id and row["source"] == "parser"
    payload = json.loads(row["payload"])
    for field in ("cycle_key", "request_id", "tx_hash", "sequence_number", "pool"):
        if hasattr(message, field):
            assert payload[field] == getattr(message, field)


def test_wei_amounts_stay_exact_as_decimal_text_and_in_the_payload():
    [(_, row)] = rows_for("exec.result", m.exec_result(), META)
    assert row["realised_profit"] == str(m.BIG)
    assert json.loads(row["payload"])["realised_profit"] == m.BIG
    [(_, row)] = rows_for("market.swap.intent", m.swap_intent(), META)
    assert row["amount_in"] == str(m.BIG) and row["amount_out"] is None
    assert json.loads(row["payload"])["router_kind"] == "v3_swap_router02"


def test_a_feed_block_keeps_each_raw_transaction_for_replay():
    block = m.feed_block()
    [(_, row)] = rows_for("feed.block", block, META)
    payload = json.loads(row["payload"])
    assert payload["transactions"] == [{"index": 0, "raw": "0x" + block.transactions[0].raw.hex()}]
    assert row["block_hash"] == "0x" + "11" * 32 and row["tx_count"] == 1


def test_a_pool_creation_registers_the_pool_and_both_tokens():
    made = rows_for("market.pool.update", m.pool_created(), META)
    assert [t for t, _ in made] == ["pools", "tokens", "tokens"]
    pool = made[0][1]
    assert (pool["address"], pool["kind"], pool["token0"], pool["fee_pips"]) == (m.POOL_B, "v3", m.WETH, 500)
    assert {r["address"] for _, r in made[1:]} == {m.WETH, m.USDC}


def test_an_unknown_topic_gives_no_rows():
    assert rows_for("bus.hello", object(), META) is None


def test_a_payload_without_its_topics_fields_raises_attribute_error():
    with pytest.raises(AttributeError):
        rows_for("risk.decision", m.swap_intent(), META)


def test_every_stored_topic_is_a_message_tag_of_the_bus_catalog():
    from mevbot.bus.catalog import register_all
    from mevbot.bus.registry import MESSAGES

    register_all()
    for topic, message, _ in m.EVERY_TOPIC:
        assert MESSAGES.for_tag(topic).cls is type(message)
    assert set(rows.TOPIC_ROWS) == {t for t, _, _ in m.EVERY_TOPIC}
