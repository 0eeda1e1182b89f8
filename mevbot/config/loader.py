"""Loading the effective config: file, then environment, then ``--set`` flags (later wins).

The file is found by :func:`resolve_config_path`. Everything wrong (TOML syntax, unknown
sections or keys, wrong types, values out of range, unreadable environment variables or flags)
is collected into one :class:`ConfigError`; a valid result is an immutable :class:`Config`.
"""

from __future__ import annotations

import os
import pathlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from mevbot.config.convert import structure_config
from mevbot.config.errors import ConfigError, ConfigProblem
from mevbot.config.overrides import apply_overrides, env_overrides, set_overrides
from mevbot.config.schema import Config

CONFIG_ENV = "MEVBOT_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"

_TOML_LOCATION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def resolve_config_path(path: str | os.PathLike[str] | None = None, *,
                        environ: Mapping[str, str] | None = None) -> pathlib.Path | None:
    """The config file to read: ``path`` if given, else ``$MEVBOT_CONFIG``, else
    ``./config.toml`` if it exists; ``None`` means "no file, use the defaults".

    A file named explicitly (argument or variable) is returned even if missing, so that loading
    it reports the mistake instead of silently running on defaults.
    """
    if path is not None and str(path) != "":
        return pathlib.Path(path)
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV, "")
    if named:
        return pathlib.Path(named)
    default = pathlib.Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def read_config_bytes(file: pathlib.Path) -> bytes:
    """The file's bytes, or a :class:`ConfigError` saying why it cannot be read."""
    try:
        return file.read_bytes()
    except FileNotFoundError:
        expected = "an existing config file"
    except IsADirectoryError:
        expected = "a config file, not a directory"
    except OSError as exc:
        expected = f"a readable config file ({exc.strerror})"
    raise ConfigError([ConfigProblem(str(file), None, expected)], file=str(file))


def load_config(path: str | os.PathLike[str] | None = None, *,
                environ: Mapping[str, str] | None = None,
                overrides: Sequence[str] = ()) -> Config:
    """The effective config: ``path`` (see :func:`resolve_config_path`), then the
    ``MEVBOT__<SECTION>__<KEY>`` variables of ``environ`` (default ``os.environ``), then
    ``overrides`` (``"section.key=value"`` from ``--set``). Raises :class:`ConfigError`."""
    env = os.environ if environ is None else environ
    file = resolve_config_path(path, environ=env)
    raw = read_config_bytes(file) if file is not None else None
    return build_config(raw, file, environ=env, overrides=overrides)


def build_config(raw: bytes | None, file: pathlib.Path | None, *, environ: Mapping[str, str],
                 overrides: Sequence[str] = (), schema: type = Config) -> Any:
    """The effective config from the file's bytes (``None``: no file) plus overrides.

    ``schema`` is the root class (tests use small ones to exercise nesting generically)."""
    problems: list[ConfigProblem] = []
    data: dict[str, Any] | None = {}
    if raw is not None:
        data, syntax_problems = parse_toml(raw, file)
        problems += syntax_problems
    env_found, env_problems = env_overrides(environ)
    set_found, set_problems = set_overrides(overrides)
    problems += env_problems + set_problems
    # On a syntax error the overrides are still checked (against the defaults), so that one
    # run reports everything wrong.
    layered = data if data is not None else {}
    sources: dict[tuple[str | int, ...], str] = {}
    problems += apply_overrides(layered, [*env_found, *set_found], sources, schema=schema)
    config: Any = None
    try:
        config = structure_config(layered, sources=sources, schema=schema)
    except ConfigError as exc:
        problems += exc.problems
    if problems or config is None:
        raise ConfigError(problems, file=str(file) if file is not None else None)
    return config


def parse_toml(raw: bytes, file: pathlib.Path | None) -> tuple[dict[str, Any] | None, list[ConfigProblem]]:
    """The file's tables, or ``None`` and a problem located at ``file:line``."""
    name = str(file) if file is not None else "<config>"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [ConfigProblem(f"{name}:{line}", raw[exc.start: exc.start + 8],
                                    "UTF-8 text")]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LOCATION.search(message)
        if match is None:
            return None, [ConfigProblem(name, None, f"valid TOML ({message})")]
        line_no, column = int(match.group(1)), int(match.group(2))
        lines = text.splitlines()
        line_text = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
        reason = message[: match.start()]
        return None, [ConfigProblem(f"{name}:{line_no}", line_text,
                                    f"valid TOML ({reason[:1].lower() + reason[1:]} at column {column})")]
