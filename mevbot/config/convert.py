"""Turning parsed TOML (plus overrides) into a typed :class:`Config`, or into every problem.

This is the config's own cattrs converter, stricter than a wire converter on purpose: a config
file is written by hand, so ``"12"`` for an integer, ``1.5`` for an integer, ``"false"`` for a
boolean or a string for a list are mistakes to report, not values to coerce. (Environment and
``--set`` values arrive as strings; :mod:`mevbot.config.overrides` types them first.) Constraints
declared with ``setting(choices=..., min=...)`` are checked inside the same structuring pass,
so type errors, range errors and unknown keys all come back together, each with its path.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
from cattrs.errors import IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from mevbot.config.errors import ConfigError, ConfigProblem, ValueMismatch
from mevbot.config.fields import Constraint, constraint_of, is_secret
from mevbot.config.keys import (
    describe_type,
    fields_of,
    format_path,
    is_dict_type,
    is_list_type,
    is_literal_type,
    is_section,
    item_type,
    locate,
)
from mevbot.config.schema import Config

REDACTED = "***"
CROSS_KEY_HOOK = "config_problems"
_SECRET_LOOKING = re.compile(r"secret|token|passw|private|webhook|api_?key", re.I)

Path = tuple[str | int, ...]


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise ValueMismatch(value, "a string")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            raise ValueMismatch(value, "an integer (write the digits: a float such as 1e18 is "
                                       "not exact; 1_000_000 is allowed)")
        raise ValueMismatch(value, "an integer")
    return value


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueMismatch(value, "a number")
    return float(value)


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise ValueMismatch(value, "true or false")
    return value


def _list_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    as_list = list[item_type(tp)]  # type: ignore[misc]
    inner = list_structure_factory(as_list, converter)
    make_tuple = typing.get_origin(tp) is tuple  # a frozen class may hold tuple[X, ...]

    def structure_list(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise ValueMismatch(value, describe_type(tp))
        result = inner(value, as_list)
        return tuple(result) if make_tuple else result
    return structure_list


def _literal_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    allowed = typing.get_args(tp)

    def structure_literal(value: Any, _: Any) -> Any:
        # type() as well as ==, so that True does not pass for 1
        if not any(type(value) is type(a) and value == a for a in allowed):
            raise ValueMismatch(value, describe_type(tp))
        return value
    return structure_literal


def _dict_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    inner = mapping_structure_factory(tp, converter)

    def structure_dict(value: Any, cl: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueMismatch(value, describe_type(tp))
        return inner(value, cl)
    return structure_dict


def _check(value: Any, constraint: Constraint, tp: Any) -> None:
    if not constraint.accepts(value):
        if constraint.choices is not None:  # the choices already say the type
            raise ValueMismatch(value, constraint.describe())
        raise ValueMismatch(value, f"{describe_type(tp)} {constraint.describe()}")


def _constrained_hook(tp: Any, constraint: Constraint, converter: cattrs.Converter) -> Any:
    """Structure as ``tp``, then check ``constraint`` (on each item, for a list)."""
    base = converter.get_structure_hook(tp)
    if not is_list_type(tp):
        def structure_checked(value: Any, cl: Any) -> Any:
            result = base(value, cl)
            _check(result, constraint, tp)
            return result
        return structure_checked

    inner_tp = item_type(tp)

    def structure_checked_items(value: Any, cl: Any) -> Any:
        result = base(value, cl)
        errors = []
        for index, item in enumerate(result):
            try:
                _check(item, constraint, inner_tp)
            except ValueMismatch as exc:
                exc.__notes__ = [IterableValidationNote(f"item @ index {index}", index, inner_tp)]
                errors.append(exc)
        if errors:
            raise cattrs.IterableValidationError("constraint violated", errors, tp)
        return result
    return structure_checked_items


def _section_hook_factory(cl: type, converter: cattrs.Converter) -> Any:
    overrides = {}
    for field in fields_of(cl):
        constraint = constraint_of(field)
        if constraint is not None:
            overrides[field.name] = cattrs.override(
                struct_hook=_constrained_hook(field.type, constraint, converter))
    inner = make_dict_structure_fn(cl, converter, **overrides)

    def structure_section(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueMismatch(value, "a table")
        return inner(value, cl)
    return structure_section


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook_factory(is_list_type, _list_hook_factory)
    converter.register_structure_hook_factory(is_literal_type, _literal_hook_factory)
    converter.register_structure_hook_factory(is_dict_type, _dict_hook_factory)
    converter.register_structure_hook_factory(is_section, _section_hook_factory)
    return converter


CONVERTER = make_converter()


def structure_config(data: Mapping[str, Any], *, sources: Mapping[Path, str] | None = None,
                     file: str | None = None, schema: type = Config) -> Any:
    """Build the typed config (an instance of ``schema``) from plain data, or raise
    :class:`ConfigError` naming every problem. ``sources`` maps paths set by the environment or
    ``--set`` to where they came from."""
    try:
        config = CONVERTER.structure(data, schema)
    except Exception as exc:  # cattrs raises exception groups of arbitrary leaf types
        problems = problems_from_exception(exc, data, sources or {}, schema=schema)
        raise ConfigError(problems, file=file) from None
    problems = [_problem(path, value, expected, sources or {}, schema)
                for path, value, expected in cross_key_problems(config)]
    if problems:
        raise ConfigError(problems, file=file)
    return config


def cross_key_problems(node: Any, path: Path = ()) -> list[tuple[Path, Any, str]]:
    """Rules spanning several keys, which a section states in a ``config_problems()`` method
    yielding ``(key, value, expected)`` (``key`` relative to the section, dotted if nested).
    They run once every value has its type, so they may rely on it."""
    found: list[tuple[Path, Any, str]] = []
    if is_section(type(node)):
        check = getattr(node, CROSS_KEY_HOOK, None)
        if callable(check):
            for key, value, expected in check():
                found.append((path + tuple(key.split(".")), value, expected))
        for field in fields_of(type(node)):
            found += cross_key_problems(getattr(node, field.name), path + (field.name,))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            found += cross_key_problems(value, path + (key,))
    return found


def problems_from_exception(exc: BaseException, data: Mapping[str, Any],
                            sources: Mapping[Path, str], path: Path = (), *,
                            schema: type = Config) -> list[ConfigProblem]:
    """Flatten cattrs' nested validation errors into path-qualified problems."""
    problems: list[ConfigProblem] = []
    if isinstance(exc, (cattrs.ClassValidationError, cattrs.IterableValidationError)):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            segment = note.name if isinstance(exc, cattrs.ClassValidationError) else note.index
            problems.extend(problems_from_exception(sub, data, sources, path + (segment,),
                                                    schema=schema))
        for sub in without:
            problems.extend(problems_from_exception(sub, data, sources, path, schema=schema))
    elif isinstance(exc, cattrs.ForbiddenExtraKeysError):
        for extra in sorted(exc.extra_fields):
            value = _lookup(data, path + (extra,))
            if _looks_secret(exc.cl, extra) and value not in ("", None):
                value = REDACTED  # a misspelt secret key is still a secret
            problems.append(_problem(path + (extra,), value,
                                     _unknown_key_expected(exc.cl, path, extra), sources, schema))
    elif isinstance(exc, ValueMismatch):
        problems.append(_problem(path, exc.value, exc.expected, sources, schema))
    elif isinstance(exc, KeyError):
        problems.append(_problem(path, None, "a value (required key missing)", sources, schema))
    else:
        located = locate(schema, path)
        expected = describe_type(located.type) if located else "a valid value"
        problems.append(_problem(path, _lookup(data, path), f"{expected} ({exc})", sources, schema))
    return problems


def _looks_secret(cl: type, key: str) -> bool:
    """Whether an unknown key is probably a secret: its name says so, or it is closest to a
    declared secret key."""
    if _SECRET_LOOKING.search(key):
        return True
    fields = {f.name: f for f in fields_of(cl)}
    close = difflib.get_close_matches(key, list(fields), n=1)
    return bool(close) and is_secret(fields[close[0]])


def _unknown_key_expected(cl: type, path: Path, extra: str) -> str:
    known = [f.name for f in fields_of(cl)]
    where = f"[{format_path(path)}]" if path else "the config"
    what = "a section" if not path else "a key"
    close = difflib.get_close_matches(extra, known, n=1)
    if close:
        return f"{what} of {where}; did you mean {close[0]!r}?"
    return f"{what} of {where}: {', '.join(known)}"


def _problem(path: Path, value: Any, expected: str, sources: Mapping[Path, str],
             schema: type) -> ConfigProblem:
    located = locate(schema, path)
    if located and located.field is not None and value not in ("", None):
        if is_secret(located.field):
            value = REDACTED
    return ConfigProblem(format_path(path), value, expected, _source_of(path, sources))


def _source_of(path: Path, sources: Mapping[Path, str]) -> str:
    for end in range(len(path), 0, -1):
        source = sources.get(tuple(path[:end]))
        if source:
            return source
    return ""


def _lookup(data: Any, path: Sequence[str | int]) -> Any:
    for segment in path:
        try:
            data = data[segment]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def unstructure(config: Config) -> dict[str, Any]:
    """The config as plain TOML-able data (dicts, lists, scalars)."""
    return CONVERTER.unstructure(config)
