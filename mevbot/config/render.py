"""Showing a config: as a plain dict with secrets redacted, or as TOML text.

tomllib only reads TOML; the writer here covers what a config holds (tables, scalars, arrays,
inline tables) and its output reads back to the same data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from mevbot.config.convert import REDACTED, unstructure
from mevbot.config.fields import is_secret
from mevbot.config.keys import fields_of, is_dict_type, is_section, item_type
from mevbot.config.schema import Config

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def redacted(config: Config) -> dict[str, Any]:
    """The effective config as a plain dict, each non-empty secret replaced by ``"***"``."""
    return _redact(unstructure(config), type(config))


def _redact(data: Any, tp: Any) -> Any:
    if is_section(tp) and isinstance(data, dict):
        out = {}
        for field in fields_of(tp):
            value = data.get(field.name)
            if is_secret(field) and value not in ("", None, [], {}):
                out[field.name] = REDACTED
            else:
                out[field.name] = _redact(value, field.type)
        return out
    if is_dict_type(tp) and isinstance(data, dict):
        return {k: _redact(v, item_type(tp)) for k, v in data.items()}
    return data


def config_to_toml(config: Config, *, redact: bool = True) -> str:
    """The config as a TOML document (secrets redacted unless ``redact=False``)."""
    return dumps(redacted(config) if redact else unstructure(config))


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _basic_string(key)


def _basic_string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; TOML also forbids raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """One value as a TOML literal (tables become inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # wei amounts are long: group the digits (TOML allows 1_000_000)
        return f"{value:_}" if abs(value) >= 100_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _basic_string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps(data: Mapping[str, Any]) -> str:
    """A TOML document: each nested mapping becomes a ``[table]``, in order."""
    lines: list[str] = []
    _write_table(lines, (), data)
    return "\n".join(lines).strip() + "\n"


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    if path:
        lines.append("")
        lines.append("[" + ".".join(toml_key(p) for p in path) + "]")
    subtables = []
    for key, value in table.items():
        if isinstance(value, Mapping) and (value or len(path) < 1):
            subtables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in subtables:
        _write_table(lines, path + (key,), value)
