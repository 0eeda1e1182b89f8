"""MEVBOT__<SECTION>__<KEY> variables and --set flags: typed by the schema, nested with __."""

from __future__ import annotations

import attrs
import pytest

from mevbot.config import Config, load_config
from mevbot.config.fields import setting
from mevbot.config.keys import iter_keys
from mevbot.config.loader import build_config


@pytest.fixture
def no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./config.toml: defaults plus overrides


def load_env(**env: str):
    return load_config(None, environ=env)


@pytest.mark.usefixtures("no_file")
class TestEnvironmentValuesAreCoercedToTheFieldType:
    def test_integer_with_underscores_and_hex(self):
        assert load_env(MEVBOT__SCANNER__MIN_PROFIT_WEI="1_000_000").scanner.min_profit_wei == 10**6
        assert load_env(MEVBOT__SCANNER__MIN_PROFIT_WEI="0x10").scanner.min_profit_wei == 16

    def test_integer_beyond_64_bits(self):
        assert load_env(MEVBOT__RISK__MAX_TRADE_WEI=str(10**30)).risk.max_trade_wei == 10**30

    def test_float(self):
        assert load_env(MEVBOT__RPC__TIMEOUT_S="0.25").rpc.timeout_s == 0.25

    @pytest.mark.parametrize(("raw", "expected"), [("true", True), ("0", False), ("Yes", True),
                                                   ("off", False)])
    def test_boolean_words(self, raw, expected):
        assert load_env(MEVBOT__SCANNER__ENABLED=raw).scanner.enabled is expected

    def test_string_is_taken_verbatim(self):
        assert load_env(MEVBOT__STORE__PATH=" /tmp/a b.sqlite").store.path == " /tmp/a b.sqlite"

    def test_list_as_toml_array(self):
        config = load_env(MEVBOT__RPC__HTTP_URLS='["http://a:1", "http://b:2"]')
        assert config.rpc.http_urls == ["http://a:1", "http://b:2"]

    def test_list_comma_separated(self):
        config = load_env(MEVBOT__RPC__HTTP_URLS="http://a:1, http://b:2")
        assert config.rpc.http_urls == ["http://a:1", "http://b:2"]

    def test_empty_list(self):
        assert load_env(MEVBOT__BUS__CRITICAL_TOPICS="").bus.critical_topics == []
        assert load_env(MEVBOT__BUS__CRITICAL_TOPICS="[]").bus.critical_topics == []


def test_environment_reaches_nested_tables_with_double_underscores(write_config):
    path = write_config("""
        [deploy.processes.hot]
        modules = ["scanner"]
        """)
    config = load_config(path, environ={"MEVBOT__DEPLOY__PROCESSES__HOT__MODULES": "scanner,execution",
                                        "MEVBOT__DEPLOY__PROCESSES__COLD__HOST": "other",
                                        "MEVBOT__DEPLOY__HOSTS__OTHER__ADDRESS": "10.0.0.2"})
    assert config.deploy.processes["hot"].modules == ["scanner", "execution"]
    assert config.deploy.processes["cold"].host == "other"
    assert config.deploy.hosts["other"].address == "10.0.0.2"
    assert config.deploy.hosts["local"].address == "127.0.0.1"  # the default table is kept


def test_environment_table_names_match_existing_ones_ignoring_case(write_config):
    path = write_config("""
        [deploy.processes.HotPath]
        host = "local"
        """)
    config = load_config(path, environ={"MEVBOT__DEPLOY__PROCESSES__HOTPATH__TCP": "h:1"})
    assert set(config.deploy.processes) == {"HotPath"}
    assert config.deploy.processes["HotPath"].tcp == "h:1"


@pytest.mark.usefixtures("no_file")
def test_set_flag_reaches_nested_tables_and_lists():
    config = load_config(None, environ={}, overrides=[
        "deploy.processes.hot.modules=[\"scanner\", \"risk\"]",
        "deploy.processes.hot.tcp=10.0.0.1:7001",
        "monitor.feed_urls=ws://x/feed,wss://y/feed",
    ])
    assert config.deploy.processes["hot"].modules == ["scanner", "risk"]
    assert config.deploy.processes["hot"].tcp == "10.0.0.1:7001"
    assert config.monitor.feed_urls == ["ws://x/feed", "wss://y/feed"]


@pytest.mark.usefixtures("no_file")
def test_a_whole_table_can_be_an_inline_table_and_a_narrower_variable_still_applies():
    config = load_env(MEVBOT__DEPLOY__PROCESSES='{ hot = { modules = ["scanner"] } }',
                      MEVBOT__DEPLOY__PROCESSES__HOT__TCP="h:2")
    assert config.deploy.processes["hot"].modules == ["scanner"]
    assert config.deploy.processes["hot"].tcp == "h:2"


def test_variables_without_the_double_underscore_prefix_are_ignored(write_config):
    path = write_config("")
    config = load_config(path, environ={"MEVBOT_KEYSTORE_PASSWORD": "x", "MEVBOT_SCANNER": "y"})
    assert config == load_config(path, environ={})


# A small schema of its own, to show nesting is handled generically (attrs inside attrs inside
# dicts), independent of what [deploy] holds today.
@attrs.frozen
class Leaf:
    port: int = setting(1, doc="A port.", min=1, max=65535)
    tags: list[str] = setting(factory=list, doc="Tags.")


@attrs.frozen
class Branch:
    leaf: Leaf = attrs.field(factory=Leaf)
    leaves: dict[str, Leaf] = setting(factory=dict, doc="Leaves by name.")


@attrs.frozen
class Root:
    branch: Branch = attrs.field(factory=Branch)


def test_nesting_is_generic_over_attrs_and_dict_tables():
    root = build_config(b"[branch.leaf]\nport = 2\n", None, schema=Root, environ={
        "MEVBOT__BRANCH__LEAVES__A__PORT": "3",
        "MEVBOT__BRANCH__LEAVES__A__TAGS": "x,y",
        "MEVBOT__BRANCH__LEAF__TAGS": '["z"]',
    })
    assert root == Root(Branch(Leaf(2, ["z"]), {"a": Leaf(3, ["x", "y"])}))


def test_nested_errors_carry_the_full_path():
    from mevbot.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        build_config(b"[branch.leaves.a]\nport = 0\nbad = 1\n", None, schema=Root,
                     environ={"MEVBOT__BRANCH__LEAF__PORT": "x"})
    assert {p.path for p in caught.value.problems} == {
        "branch.leaves.a.port", "branch.leaves.a.bad", "branch.leaf.port"}


def _as_env_text(value) -> str:
    from mevbot.config.render import toml_value

    if isinstance(value, str):
        return value
    return toml_value(value)  # true/false, digits, floats, TOML arrays


@pytest.mark.usefixtures("no_file")
@pytest.mark.parametrize("key", [k for k in iter_keys(Config) if "<name>" not in k.path],
                         ids=lambda k: k.dotted)
def test_every_key_can_be_set_from_the_environment_and_flags(key):
    """Each key's default, written as text, reads back to the same value both ways."""
    text = _as_env_text(key.default)
    name = "MEVBOT__" + "__".join(p.upper() for p in key.path)
    assert load_config(None, environ={name: text}) == Config()
    assert load_config(None, environ={}, overrides=[f"{key.dotted}={text}"]) == Config()
