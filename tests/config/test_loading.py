"""Finding and loading the config file; precedence file < environment < --set."""

from __future__ import annotations

import pathlib

import pytest

from mevbot.config import Config, ConfigError, load_config, resolve_config_path


def test_explicit_path_wins_over_env_and_cwd(tmp_path, monkeypatch, write_config):
    explicit = write_config("[log]\nlevel = 'DEBUG'\n", "explicit.toml")
    named = write_config("[log]\nlevel = 'ERROR'\n", "named.toml")
    write_config("[log]\nlevel = 'WARNING'\n", "config.toml")
    monkeypatch.chdir(tmp_path)
    env = {"MEVBOT_CONFIG": str(named)}
    assert resolve_config_path(explicit, environ=env) == explicit
    assert load_config(explicit, environ=env).log.level == "DEBUG"


def test_mevbot_config_variable_names_the_file_when_no_path_given(tmp_path, monkeypatch, write_config):
    named = write_config("[log]\nlevel = 'ERROR'\n", "named.toml")
    write_config("[log]\nlevel = 'WARNING'\n", "config.toml")
    monkeypatch.chdir(tmp_path)
    env = {"MEVBOT_CONFIG": str(named)}
    assert resolve_config_path(None, environ=env) == pathlib.Path(named)
    assert load_config(environ=env).log.level == "ERROR"


def test_cwd_config_toml_is_used_when_nothing_is_named(tmp_path, monkeypatch, write_config):
    write_config("[log]\nlevel = 'WARNING'\n", "config.toml")
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path(None, environ={}) == pathlib.Path("config.toml")
    assert load_config(environ={}).log.level == "WARNING"


def test_defaults_apply_when_no_file_is_named_or_present(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path(None, environ={}) is None
    assert load_config(environ={}) == Config()


@pytest.mark.parametrize("how", ["argument", "variable"])
def test_missing_named_file_is_an_error_not_the_defaults(tmp_path, how):
    missing = tmp_path / "nope.toml"
    path, env = (missing, {}) if how == "argument" else (None, {"MEVBOT_CONFIG": str(missing)})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=env)
    (problem,) = caught.value.problems
    assert problem.path == str(missing)
    assert "existing config file" in problem.expected


def test_file_values_are_typed(write_config):
    path = write_config("""
        [scanner]
        min_profit_wei = 5_000
        min_profit_to_cost = 2   # an integer is a fine float
        enabled = false
        [rpc]
        http_urls = ["http://a:1", "http://b:2"]
        """)
    config = load_config(path, environ={})
    assert config.scanner.min_profit_wei == 5000
    assert config.scanner.min_profit_to_cost == 2.0 and isinstance(config.scanner.min_profit_to_cost, float)
    assert config.scanner.enabled is False
    assert config.rpc.http_urls == ["http://a:1", "http://b:2"]
    assert config.scanner.max_hops == Config().scanner.max_hops  # untouched keys keep defaults


def test_precedence_is_file_then_environment_then_set(write_config):
    path = write_config("""
        [scanner]
        min_profit_wei = 1
        max_hops = 2
        l1_gas_estimate = 7
        """)
    env = {"MEVBOT__SCANNER__MIN_PROFIT_WEI": "2", "MEVBOT__SCANNER__MAX_HOPS": "3"}
    config = load_config(path, environ=env, overrides=["scanner.min_profit_wei=3"])
    assert config.scanner.l1_gas_estimate == 7  # file only
    assert config.scanner.max_hops == 3  # environment beats file
    assert config.scanner.min_profit_wei == 3  # --set beats environment


def test_later_set_flag_wins_over_earlier_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={}, overrides=["log.level=DEBUG", "log.level=ERROR"])
    assert config.log.level == "ERROR"


def test_os_environ_is_read_when_environ_is_none(write_config, monkeypatch):
    path = write_config("")
    monkeypatch.setenv("MEVBOT__LOG__LEVEL", "WARNING")
    assert load_config(path).log.level == "WARNING"
