"""docs/configuration.md and config.toml are generated from the schema and cannot go stale
silently: every key must appear in both, and the committed config.toml must load."""

from __future__ import annotations

import re

import pytest

from mevbot.config import Config, load_config
from mevbot.config.docs import CONFIG_FILE, DOCS_FILE, render_default_toml, render_markdown
from mevbot.config.keys import iter_keys

ALL_KEYS = list(iter_keys(Config))


def test_committed_config_toml_loads_to_the_defaults():
    assert load_config(CONFIG_FILE, environ={}) == Config()


def test_generated_config_toml_loads_to_the_defaults(write_config):
    assert load_config(write_config(render_default_toml()), environ={}) == Config()


def _section_text(text: str, start: str, end_pattern: str) -> str:
    """From the line ``start`` to the next line matching ``end_pattern``."""
    begin = re.search("^" + re.escape(start) + "$", text, re.M)
    assert begin, f"no {start} in the text"
    end = re.compile(end_pattern, re.M).search(text, begin.end())
    return text[begin.start(): end.start() if end else len(text)]


@pytest.mark.parametrize("text_of", [lambda: DOCS_FILE.read_text(), render_markdown],
                         ids=["committed", "generated"])
def test_docs_document_every_key_with_type_default_and_reloadability(text_of):
    text = text_of()
    for key in ALL_KEYS:
        section = _section_text(text, f"### [{key.section}]", r"^### \[")
        rows = [line for line in section.splitlines() if line.startswith(f"| `{key.name}` |")]
        assert len(rows) == 1, f"{key.dotted} is not documented in {DOCS_FILE.name}"
        cells = [c.strip() for c in rows[0].strip("|").split(" | ")]
        assert cells[3] in ("yes", "no") and cells[1], key.dotted


@pytest.mark.parametrize("text_of", [lambda: CONFIG_FILE.read_text(), render_default_toml],
                         ids=["committed", "generated"])
def test_config_toml_lists_every_key(text_of):
    text = text_of()
    for key in ALL_KEYS:
        section = _section_text(text, f"[{key.section}]", r"^\[(?!" + re.escape(key.section) + r"\.)")
        leaf = key.path[-1]
        assert re.search(rf"^(# )?{re.escape(leaf)} = ", section, re.M), \
            f"{key.dotted} is missing from {CONFIG_FILE.name}"


def test_docs_and_config_toml_mention_reloadable_keys_as_such():
    markdown = render_markdown()
    assert "| `level` | str | `\"INFO\"` | yes |" in markdown
    toml = render_default_toml()
    assert re.search(r"^# .*Restart to change.*\n(# .*\n)*format = ", toml, re.M)
