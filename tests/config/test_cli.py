"""`mevbot config check` and `mevbot config show`, run as real subprocesses."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tomllib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MEVBOT = REPO / ".venv" / "bin" / "mevbot"


def mevbot(*args: str, cwd: pathlib.Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    command = [str(MEVBOT)] if MEVBOT.exists() else [sys.executable, "-m", "mevbot"]
    return subprocess.run([*command, *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_check_valid_file_exits_0_with_an_ok_line(tmp_path, write_config):
    path = write_config("[log]\nlevel = 'DEBUG'\n")
    done = mevbot("config", "check", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok: {path} is valid"
    assert done.stderr == ""


def test_check_invalid_file_exits_2_listing_every_problem(tmp_path, write_config):
    path = write_config("[log]\nlevel = 'LOUD'\ncolour = 1\n[scanner]\nmin_profit_wei = 'abc'\n")
    done = mevbot("config", "check", str(path), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == f"{path}: invalid, 3 problems:"
    assert sorted(line.strip() for line in lines[1:]) == [
        "log.colour = 1: expected a key of [log]: level, format, file",
        "log.level = 'LOUD': expected one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'",
        "scanner.min_profit_wei = 'abc': expected an integer",
    ]
    assert done.stdout == ""


def test_check_reports_toml_syntax_errors_by_line(tmp_path, write_config):
    path = write_config("[log]\nlevel = \n")
    done = mevbot("config", "check", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{path}:2 = 'level = ': expected valid TOML" in done.stderr


def test_check_missing_file_exits_2(tmp_path):
    done = mevbot("config", "check", "absent.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert "absent.toml: expected an existing config file" in done.stderr


def test_check_applies_the_environment_unless_told_not_to(tmp_path, write_config):
    path = write_config("")
    env = {"MEVBOT__SCANNER__MAX_HOPS": "9"}
    done = mevbot("config", "check", str(path), cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "scanner.max_hops = 9 (from env MEVBOT__SCANNER__MAX_HOPS): expected one of 2, 3" in done.stderr
    assert mevbot("config", "check", "--no-env", str(path), cwd=tmp_path, env=env).returncode == 0


def test_check_without_path_uses_mevbot_config_then_cwd(tmp_path, write_config):
    write_config("[log]\nlevel = 'LOUD'\n", "config.toml")
    named = write_config("", "named.toml")
    assert mevbot("config", "check", cwd=tmp_path).returncode == 2
    done = mevbot("config", "check", cwd=tmp_path, env={"MEVBOT_CONFIG": str(named)})
    assert done.returncode == 0 and str(named) in done.stdout


def test_check_the_committed_config_toml():
    done = mevbot("config", "check", "config.toml", cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_show_prints_effective_toml_with_secrets_redacted(tmp_path, write_config):
    path = write_config("[scanner]\nmin_profit_wei = 1\n[observability]\ndashboard_token = 'tok-secret'\n")
    done = mevbot("config", "show", "--config", str(path), "--set", "scanner.max_hops=2",
                  cwd=tmp_path, env={"MEVBOT__SCANNER__MIN_PROFIT_WEI": "5"})
    assert done.returncode == 0, done.stderr
    shown = tomllib.loads(done.stdout)
    assert shown["scanner"]["min_profit_wei"] == 5
    assert shown["scanner"]["max_hops"] == 2
    assert shown["observability"]["dashboard_token"] == "***"
    assert "tok-secret" not in done.stdout


def test_show_json(tmp_path):
    done = mevbot("config", "show", "--json", "--set", "log.level=DEBUG", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["log"]["level"] == "DEBUG"


def test_show_invalid_config_exits_2(tmp_path):
    done = mevbot("config", "show", "--set", "log.level=LOUD", "--set", "oops", cwd=tmp_path)
    assert done.returncode == 2
    assert "log.level = 'LOUD' (from --set log.level=LOUD)" in done.stderr
    assert "--set = 'oops': expected SECTION.KEY=VALUE" in done.stderr


@pytest.mark.parametrize("command", [["config"], ["config", "check"], ["config", "show"]])
def test_every_command_has_help(tmp_path, command):
    done = mevbot(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0 and "usage: mevbot config" in done.stdout
