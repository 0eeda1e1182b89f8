"""Environment variables and ``--set`` flags layered over the file's data, typed by the schema.

``MEVBOT__<SECTION>__<KEY>=value`` (more ``__`` for nested tables, e.g.
``MEVBOT__DEPLOY__PROCESSES__WORKER__HOST``) and ``--set section.key=value`` both name a key
path and give its value as a string. The string is read according to the type the schema
expects there: an integer (``1_000`` and ``0x..`` allowed), a number, a boolean
(``true/false/1/0/yes/no/on/off``), a string (taken verbatim) or a list, written either as a TOML
array (``'["http://a", "http://b"]'``) or comma-separated (``http://a,http://b``). A table may be
given as a TOML inline table. A string that cannot be read as the expected type is passed through
unchanged, so the converter reports it with the same "expected ..." wording as a file value, and
the problem names the variable or flag it came from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from mevbot.config.convert import CONVERTER
from mevbot.config.errors import ConfigProblem
from mevbot.config.keys import format_path, is_dict_type, is_list_type, is_section, item_type, locate
from mevbot.config.schema import Config

ENV_PREFIX = "MEVBOT__"
ENV_SEPARATOR = "__"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@attrs.frozen
class Override:
    """One key set from outside the file."""

    path: tuple[str, ...]
    raw: str
    source: str  # e.g. "env MEVBOT__SCANNER__MAX_HOPS" or "--set scanner.max_hops=2"
    match_case: bool = True  # False for environment names, which are upper-cased


def env_overrides(environ: Mapping[str, str]) -> tuple[list[Override], list[ConfigProblem]]:
    """The ``MEVBOT__...`` variables of ``environ``, wider paths first (so that a whole table
    set by one variable does not erase a key set by another)."""
    found, problems = [], []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        segments = name[len(ENV_PREFIX):].split(ENV_SEPARATOR)
        if any(not s for s in segments):
            problems.append(ConfigProblem(name, environ[name],
                                          "a variable named MEVBOT__<SECTION>__<KEY> (no empty part)"))
            continue
        found.append(Override(tuple(s.lower() for s in segments), environ[name], f"env {name}",
                              match_case=False))
    found.sort(key=lambda o: len(o.path))
    return found, problems


def set_overrides(items: Iterable[str]) -> tuple[list[Override], list[ConfigProblem]]:
    """``--set section.key=value`` strings, in the order given (a later one wins)."""
    found, problems = [], []
    for item in items:
        key, sep, raw = item.partition("=")
        segments = key.strip().split(".")
        if not sep or any(not s for s in segments) or len(segments) < 2:
            problems.append(ConfigProblem("--set", item, "SECTION.KEY=VALUE"))
            continue
        found.append(Override(tuple(segments), raw, f"--set {item}"))
    return found, problems


def apply_overrides(data: dict[str, Any], overrides: Iterable[Override],
                    sources: dict[tuple[str | int, ...], str], *,
                    schema: type = Config) -> list[ConfigProblem]:
    """Write each override's typed value into ``data`` (in place), recording its source."""
    problems = []
    for override in overrides:
        node = data
        path: list[str] = []
        blocked = False
        for segment in override.path[:-1]:
            key = _match_key(node, segment, override.match_case)
            path.append(key)
            child = node.get(key)
            if child is None:
                child = node[key] = _default_table(schema, path)
            elif not isinstance(child, dict):
                problems.append(ConfigProblem(format_path(path), child,
                                              f"a table (to set {'.'.join(override.path)} in it)",
                                              source=override.source))
                blocked = True
                break
            node = child
        if blocked:
            continue
        key = _match_key(node, override.path[-1], override.match_case)
        path.append(key)
        located = locate(schema, path)
        node[key] = coerce(override.raw, located.type if located else None)
        sources[tuple(path)] = override.source
    return problems


def _default_table(schema: type, path: list[str]) -> dict[str, Any]:
    """The default of the dict-valued key at ``path`` as plain data (empty for anything else),
    so that a variable adding one entry to a table with default entries keeps them."""
    located = locate(schema, path)
    field = located.field if located else None
    if field is None or field.name != path[-1] or not is_dict_type(located.type):
        return {}
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    if default is attrs.NOTHING:
        return {}
    return dict(CONVERTER.unstructure(default, located.type))


def _match_key(node: Mapping[str, Any], segment: str, match_case: bool) -> str:
    """The existing key ``segment`` refers to (ignoring case for environment names)."""
    if match_case or segment in node:
        return segment
    for key in node:
        if key.lower() == segment.lower():
            return key
    return segment


def coerce(raw: str, tp: Any) -> Any:
    """Read ``raw`` as a value of type ``tp``; unreadable input is returned unchanged."""
    text = raw.strip()
    if tp is str or tp is None:
        return raw
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        return raw
    if tp is int:
        try:
            if text.lower().lstrip("+-").startswith(("0x", "0o", "0b")):
                return int(text.replace("_", ""), 0)
            return int(text.replace("_", ""), 10)
        except ValueError:
            return raw
    if tp is float:
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return raw
    if is_list_type(tp):
        if text.startswith("["):
            return _toml_value(text, raw)
        return [coerce(part.strip(), item_type(tp)) for part in text.split(",") if part.strip()]
    if is_dict_type(tp) or is_section(tp):
        return _toml_value(text, raw) if text.startswith("{") else raw
    return _toml_value(text, raw)


def _toml_value(text: str, fallback: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return fallback
