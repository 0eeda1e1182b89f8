"""Every kind of invalid config is reported with its key path, the value and what was expected,
all problems at once."""

from __future__ import annotations

import typing

import attrs
import pytest

from mevbot.config import ConfigError, ConfigProblem, load_config
from mevbot.config.fields import setting
from mevbot.config.loader import build_config


def problems_of(path=None, *, environ=None, overrides=()) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {}, overrides=overrides)
    return caught.value.problems


def only(problems: list[ConfigProblem]) -> ConfigProblem:
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_section_is_named_with_a_suggestion(write_config):
    problem = only(problems_of(write_config("[scaner]\nmax_hops = 2\n")))
    assert problem.path == "scaner"
    assert problem.value == {"max_hops": 2}
    assert "section" in problem.expected and "'scanner'" in problem.expected


def test_unknown_key_is_named_with_a_suggestion(write_config):
    problem = only(problems_of(write_config("[log]\nlevle = 'DEBUG'\n")))
    assert (problem.path, problem.value) == ("log.levle", "DEBUG")
    assert "[log]" in problem.expected and "'level'" in problem.expected


def test_unknown_key_without_close_match_lists_the_known_keys(write_config):
    problem = only(problems_of(write_config("[log]\nzzz = 1\n")))
    assert problem.expected == "a key of [log]: level, format, file"


@pytest.mark.parametrize(("toml", "path", "value", "expected"), [
    ("[scanner]\nmin_profit_wei = 'abc'", "scanner.min_profit_wei", "abc", "an integer"),
    ("[scanner]\nmin_profit_wei = '12'", "scanner.min_profit_wei", "12", "an integer"),
    ("[scanner]\nmin_profit_wei = true", "scanner.min_profit_wei", True, "an integer"),
    ("[rpc]\ntimeout_s = '2'", "rpc.timeout_s", "2", "a number"),
    ("[scanner]\nenabled = 'false'", "scanner.enabled", "false", "true or false"),
    ("[store]\npath = 5", "store.path", 5, "a string"),
    ("[rpc]\nhttp_urls = 'http://a'", "rpc.http_urls", "http://a", "a list of strings"),
    ("[rpc]\nhttp_urls = ['http://a', 3]", "rpc.http_urls[1]", 3, "a string"),
    ("scanner = 3", "scanner", 3, "a table"),
    ("[deploy]\nprocesses = 3", "deploy.processes", 3, "a table of tables"),
])
def test_wrong_type(write_config, toml, path, value, expected):
    problem = only(problems_of(write_config(toml)))
    assert (problem.path, problem.value, problem.expected) == (path, value, expected)


def test_float_for_an_integer_explains_exactness(write_config):
    problem = only(problems_of(write_config("[risk]\nmax_trade_wei = 1e20\n")))
    assert problem.path == "risk.max_trade_wei"
    assert problem.expected.startswith("an integer") and "1_000_000" in problem.expected


# Ranges are checked on a schema of this test's own, so that the test does not depend on the
# bounds other packages choose for their keys; choices are checked on the real [log] keys.
@attrs.frozen
class Limits:
    port: int = setting(8080, doc="A port.", min=1, max=65535)
    timeout_s: float = setting(1.0, doc="A timeout.", gt=0)
    retries: int = setting(1, doc="Retries.", min=0)
    ceiling: int = setting(1, doc="A ceiling.", max=10)
    weights: list[float] = setting(factory=list, doc="Weights.", min=0, max=1)


@attrs.frozen
class LimitsRoot:
    limits: Limits = attrs.field(factory=Limits)


@pytest.mark.parametrize(("toml", "path", "expected"), [
    ("port = 70000", "limits.port", "an integer between 1 and 65535"),
    ("port = 0", "limits.port", "an integer between 1 and 65535"),
    ("timeout_s = 0", "limits.timeout_s", "a number > 0"),
    ("timeout_s = -0.5", "limits.timeout_s", "a number > 0"),
    ("retries = -1", "limits.retries", "an integer >= 0"),
    ("ceiling = 11", "limits.ceiling", "an integer <= 10"),
    ("weights = [0.5, 1.5]", "limits.weights[1]", "a number between 0 and 1"),
])
def test_value_out_of_range(toml, path, expected):
    with pytest.raises(ConfigError) as caught:
        build_config(f"[limits]\n{toml}\n".encode(), None, environ={}, schema=LimitsRoot)
    problem = only(caught.value.problems)
    assert (problem.path, problem.expected) == (path, expected)


def test_values_on_the_bounds_are_accepted():
    root = build_config(b"[limits]\nport = 65535\nretries = 0\nceiling = 10\nweights = [0, 1]\n",
                        None, environ={}, schema=LimitsRoot)
    assert root.limits.port == 65535 and root.limits.weights == [0.0, 1.0]


@pytest.mark.parametrize(("toml", "path", "expected"), [
    ("[log]\nlevel = 'LOUD'", "log.level", "one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'"),
    ("[log]\nformat = 'xml'", "log.format", "one of 'text', 'json'"),
    ("[scanner]\nmax_hops = 4", "scanner.max_hops", "one of 2, 3"),
    ("[rpc]\nhttp_urls = ['http://ok', 'ftp://no']", "rpc.http_urls[1]", "a string matching 'https?://'"),
])
def test_value_not_in_choices(write_config, toml, path, expected):
    problem = only(problems_of(write_config(toml)))
    assert (problem.path, problem.expected) == (path, expected)


def test_invalid_toml_is_located_at_file_and_line(write_config):
    path = write_config("[log]\nlevel = 'INFO'\n\n[scanner]\nmax_hops = = 3\n")
    problem = only(problems_of(path))
    assert problem.path == f"{path}:5"
    assert problem.value == "max_hops = = 3"
    assert problem.expected.startswith("valid TOML")


def test_non_utf8_file_is_located_at_its_line(write_config, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[log]\nfile = '\xe9'\n")
    problem = only(problems_of(path))
    assert (problem.path, problem.expected) == (f"{path}:2", "UTF-8 text")


def test_bad_environment_value_names_the_variable(write_config):
    problem = only(problems_of(write_config(""),
                               environ={"MEVBOT__SCANNER__MIN_PROFIT_WEI": "lots"}))
    assert (problem.path, problem.value, problem.expected) == ("scanner.min_profit_wei", "lots", "an integer")
    assert problem.source == "env MEVBOT__SCANNER__MIN_PROFIT_WEI"
    assert "MEVBOT__SCANNER__MIN_PROFIT_WEI" in str(ConfigError([problem]))


def test_environment_variable_for_an_unknown_key_is_an_error(write_config):
    problem = only(problems_of(write_config(""), environ={"MEVBOT__SCANNER__MAX_HOP": "2"}))
    assert problem.path == "scanner.max_hop" and problem.source == "env MEVBOT__SCANNER__MAX_HOP"


def test_malformed_environment_variable_name_is_an_error(write_config):
    problem = only(problems_of(write_config(""), environ={"MEVBOT__SCANNER____MAX_HOPS": "2"}))
    assert problem.path == "MEVBOT__SCANNER____MAX_HOPS"


@pytest.mark.parametrize("item", ["scanner.max_hops", "max_hops=2", "scanner..max_hops=2", "=2"])
def test_malformed_set_flag_is_an_error(write_config, item):
    problem = only(problems_of(write_config(""), overrides=[item]))
    assert (problem.path, problem.value, problem.expected) == ("--set", item, "SECTION.KEY=VALUE")


def test_set_flag_with_bad_value_or_unknown_key_names_the_flag(write_config):
    problems = problems_of(write_config(""), overrides=["scanner.max_hops=five", "scanner.nope=1"])
    assert [(p.path, p.source) for p in problems] == [
        ("scanner.max_hops", "--set scanner.max_hops=five"),
        ("scanner.nope", "--set scanner.nope=1"),
    ]


def test_every_problem_is_reported_at_once(write_config):
    path = write_config("""
        [log]
        level = "LOUD"
        colour = true
        [scanner]
        min_profit_wei = "abc"
        [observability]
        dashboard_port = "80"
        [nonsense]
        """)
    problems = problems_of(path, environ={"MEVBOT__RPC__TIMEOUT_S": "soon"},
                           overrides=["bogus"])
    assert {p.path for p in problems} == {"log.level", "log.colour", "scanner.min_profit_wei",
                                          "observability.dashboard_port", "nonsense", "rpc.timeout_s", "--set"}


def test_overrides_are_still_checked_when_the_file_has_a_syntax_error(write_config):
    problems = problems_of(write_config("[log\n"), environ={"MEVBOT__LOG__LEVEL": "LOUD"})
    assert [p.path.rsplit(":", 1)[-1] for p in problems] == ["1", "log.level"]


def test_error_text_lists_one_problem_per_line(write_config):
    with pytest.raises(ConfigError) as caught:
        load_config(write_config("[scanner]\nmin_profit_wei = 'abc'\nmax_hops = 9\n"), environ={})
    assert str(caught.value).splitlines() == [
        "scanner.max_hops = 9: expected one of 2, 3",
        "scanner.min_profit_wei = 'abc': expected an integer",
    ]


def test_secret_values_never_appear_in_errors(write_config):
    problems = problems_of(write_config("[observability]\ndashboard_token = 12345678\n"))
    assert all("12345678" not in str(p) for p in problems)
    assert [p.path for p in problems if p.value == "***"] == ["observability.dashboard_token"]


def test_misspelt_secret_looking_key_does_not_echo_its_value(write_config):
    problem = only(problems_of(write_config("[observability]\ndashboard_tokn = 'hunter2hunter2'\n")))
    assert problem.path == "observability.dashboard_tokn" and problem.value == "***"
    assert "'dashboard_token'" in problem.expected


@attrs.frozen
class Shapes:
    mode: typing.Literal["fast", "safe"] = setting("safe", doc="A mode.")
    ids: tuple[int, ...] = setting((), doc="Ids.")


@attrs.frozen
class ShapesRoot:
    shapes: Shapes = attrs.field(factory=Shapes)


def test_literal_and_tuple_typed_keys_are_structured_and_checked():
    root = build_config(b"[shapes]\nmode = 'fast'\nids = [1, 2]\n", None, environ={}, schema=ShapesRoot)
    assert root.shapes == Shapes("fast", (1, 2))
    with pytest.raises(ConfigError) as caught:
        build_config(b"[shapes]\nmode = 'slow'\nids = [1, 'x']\n", None, environ={}, schema=ShapesRoot)
    assert [(p.path, p.expected) for p in caught.value.problems] == [
        ("shapes.mode", "one of 'fast', 'safe'"), ("shapes.ids[1]", "an integer")]


@attrs.frozen
class Window:
    low: int = setting(1, doc="Low end.")
    high: int = setting(2, doc="High end.")
    secret: str = setting("", doc="A secret.", secret=True)

    def config_problems(self):
        if self.high < self.low:
            yield "high", self.high, f"an integer >= low ({self.low})"
        if self.secret and len(self.secret) < 16:
            yield "secret", self.secret, "at least 16 characters"


@attrs.frozen
class WindowRoot:
    window: Window = attrs.field(factory=Window)
    windows: dict[str, Window] = setting(factory=dict, doc="Windows by name.")


def test_rules_spanning_keys_are_reported_at_the_key_path():
    with pytest.raises(ConfigError) as caught:
        build_config(b"[window]\nlow = 5\nhigh = 3\n[windows.w]\nsecret = 'short'\n", None,
                     environ={"MEVBOT__WINDOWS__W__HIGH": "0"}, schema=WindowRoot)
    assert [str(p) for p in caught.value.problems] == [
        "window.high = 3: expected an integer >= low (5)",
        "windows.w.high = 0 (from env MEVBOT__WINDOWS__W__HIGH): expected an integer >= low (1)",
        "windows.w.secret = '***': expected at least 16 characters",
    ]
