"""Showing the effective config: secrets redacted, TOML that reads back to the same config."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from mevbot.config import Config, config_to_toml, load_config, redacted
from mevbot.config.keys import iter_keys
from mevbot.config.render import dumps, toml_value


def test_redacted_hides_non_empty_secrets_only(write_config):
    config = load_config(write_config("[observability]\ndashboard_token = 'tok-123'\n"),
                         environ={"MEVBOT__DEPLOY__SECRET": "sixteen-byte-secret"})
    shown = redacted(config)
    assert shown["observability"]["dashboard_token"] == "***"
    assert shown["deploy"]["secret"] == "***"
    assert shown["observability"]["alert_webhook"] == ""  # empty: nothing to hide
    assert "tok-123" not in config_to_toml(config)
    assert "sixteen-byte-secret" not in config_to_toml(config)


def test_redacted_covers_every_section_and_key():
    shown = redacted(Config())
    for key in iter_keys(Config):
        node = shown
        for part in key.path:
            if part == "<name>":
                break
            assert part in node, key.dotted
            node = node[part]


def test_toml_output_reads_back_to_the_same_config(write_config):
    config = load_config(write_config("""
        [log]
        file = "a \\"quoted\\" path\\twith tab"
        [deploy.processes.hot]
        modules = ["scanner", "execution"]
        [deploy.hosts."odd name"]
        address = "10.0.0.9"
        """), environ={})
    text = config_to_toml(config, redact=False)
    assert load_config(write_config(text, "again.toml"), environ={}) == config


def test_toml_values_are_valid_toml():
    for value in [0, -5, 10**30, 0.5, 1e-9, float("inf"), True, "x\x7fy\u00e9\n", [], [1, 2],
                  {"a b": {"c": [1]}}]:
        assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


# Any text TOML can hold (no lone surrogates: a UTF-8 file cannot carry them).
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalars = (st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.booleans() | _text)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(_text, inner, max_size=3), max_leaves=8)


@given(st.dictionaries(_text, st.dictionaries(_text, _values, max_size=4), max_size=4))
@settings(max_examples=150, deadline=None)
def test_dumps_reads_back_to_the_same_data(data):
    assert tomllib.loads(dumps(data)) == data
