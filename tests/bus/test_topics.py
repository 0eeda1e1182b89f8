import pytest

from mevbot.bus.errors import TopicError
from mevbot.bus.topics import topic_matches, validate_pattern, validate_topic


@pytest.mark.parametrize("pattern, topic, expected", [
    ("market.swap.intent", "market.swap.intent", True),
    ("market.swap.*", "market.swap.intent", True),
    ("market.swap.*", "market.swap", False),
    ("market.swap.*", "market.swap.intent.v2", False),
    ("market.#", "market", True),
    ("market.#", "market.swap.intent", True),
    ("market.#", "marketplace.x", False),
    ("#", "anything.at.all", True),
    ("*.swap.#", "market.swap", True),
    ("market.#.done", "market.a.b.done", True),
    ("market.#.done", "market.a.b", False),
])
def test_wildcards_follow_amqp_semantics(pattern, topic, expected):
    assert topic_matches(pattern, topic) is expected


@pytest.mark.parametrize("bad", ["", "a..b", "a.*", "a.#"])
def test_concrete_topics_have_no_wildcards_or_empty_segments(bad):
    with pytest.raises(TopicError, match="invalid"):
        validate_topic(bad)


@pytest.mark.parametrize("bad", ["", "a..b", "a.sw*p", "a#"])
def test_patterns_need_whole_segment_wildcards(bad):
    with pytest.raises(TopicError, match="invalid"):
        validate_pattern(bad)
