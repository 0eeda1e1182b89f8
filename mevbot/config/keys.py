"""What the schema says about each key: its path, type, default and metadata.

The loader (typing environment values, redacting secrets in errors), the docs generator and
`config show` all walk the same attrs classes through here, so nested sections
(``[deploy.processes.<name>]``: attrs classes inside attrs classes or inside ``dict[str, X]``)
are handled once, generically.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from mevbot.config.fields import Constraint, constraint_of, doc_of, is_reloadable, is_secret

#: Placeholder for a user-chosen table name in documented paths (``deploy.processes.<name>``).
NAME_PLACEHOLDER = "<name>"


@functools.cache
def fields_of(cls: type) -> tuple[attrs.Attribute, ...]:
    """The attrs fields of ``cls`` with their annotations resolved to real types."""
    attrs.resolve_types(cls)
    return attrs.fields(cls)


def field_named(cls: type, name: str) -> attrs.Attribute | None:
    for field in fields_of(cls):
        if field.name == name:
            return field
    return None


def is_list_type(tp: Any) -> bool:
    """A homogeneous sequence: ``list[X]``, ``Sequence[X]`` or ``tuple[X, ...]``."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return len(args) == 2 and args[1] is Ellipsis
    return origin in (list, Sequence) or tp is list


def is_literal_type(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Literal


def is_dict_type(tp: Any) -> bool:
    return typing.get_origin(tp) in (dict, Mapping) or tp is dict


def item_type(tp: Any) -> Any:
    """The element type of a list type or the value type of a dict type (``Any`` if bare)."""
    args = typing.get_args(tp)
    if not args:
        return Any
    return args[-1] if is_dict_type(tp) else args[0]


def is_section(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


def _union_args(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return ()


_ARTICLE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
_PLURAL_NAMES = {str: "strings", int: "integers", float: "numbers", bool: "booleans"}


def describe_type(tp: Any) -> str:
    """The type in words, as said after "expected": ``an integer``, ``a list of strings``."""
    if tp in _ARTICLE_NAMES:
        return _ARTICLE_NAMES[tp]
    if is_list_type(tp):
        inner = item_type(tp)
        return "a list of " + _PLURAL_NAMES.get(inner, describe_type(inner).removeprefix("a "))
    if is_dict_type(tp):
        return "a table of " + _PLURAL_NAMES.get(item_type(tp), "tables")
    if is_section(tp):
        return "a table"
    if is_literal_type(tp):
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "nothing"
    args = _union_args(tp)
    if args:
        return " or ".join(describe_type(a) for a in args)
    return getattr(tp, "__name__", repr(tp))


def type_name(tp: Any) -> str:
    """The type as written in the docs: ``int``, ``list[str]``, ``table``."""
    if isinstance(tp, type) and not is_section(tp) and not typing.get_args(tp):
        return tp.__name__
    if is_list_type(tp):
        return f"list[{type_name(item_type(tp))}]"
    if is_dict_type(tp):
        return f"table of {type_name(item_type(tp))}"
    if is_section(tp):
        return "table"
    if is_literal_type(tp):
        return "str" if all(isinstance(a, str) for a in typing.get_args(tp)) else "literal"
    args = _union_args(tp)
    if args:
        return " | ".join(type_name(a) for a in args)
    return repr(tp)


@attrs.frozen
class KeyInfo:
    """One leaf key of the schema."""

    path: tuple[str, ...]
    type: Any
    field: attrs.Attribute

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def section(self) -> str:
        return self.path[0]

    @property
    def name(self) -> str:
        """The key's path inside its section (``level``, ``processes.<name>.host``)."""
        return ".".join(self.path[1:])

    @property
    def doc(self) -> str:
        return doc_of(self.field)

    @property
    def reloadable(self) -> bool:
        return is_reloadable(self.field)

    @property
    def secret(self) -> bool:
        return is_secret(self.field)

    @property
    def constraint(self) -> Constraint | None:
        return constraint_of(self.field)

    @property
    def default(self) -> Any:
        default = self.field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            return default.factory()
        return default


def iter_keys(cls: type, prefix: tuple[str, ...] = ()) -> Iterator[KeyInfo]:
    """Every leaf key under ``cls``, depth first in declaration order.

    A field whose type is an attrs class is a sub-table and is descended into; so is a
    ``dict[str, <attrs class>]``, whose keys are user-chosen names (shown as ``<name>``).
    """
    for field in fields_of(cls):
        path = prefix + (field.name,)
        tp = field.type
        if is_section(tp):
            yield from iter_keys(tp, path)
        elif is_dict_type(tp) and is_section(item_type(tp)):
            yield from iter_keys(item_type(tp), path + (NAME_PLACEHOLDER,))
        else:
            yield KeyInfo(path, tp, field)


@attrs.frozen
class Located:
    """What the schema knows about one concrete path: the type there and the field it is in."""

    type: Any
    field: attrs.Attribute | None


def locate(root: type, path: Sequence[str | int]) -> Located | None:
    """The type expected at ``path`` below ``root`` (``None`` if no such key exists).

    Integers index lists; any string indexes a ``dict[str, X]``. ``field`` is the innermost attrs
    field on the way, which carries the metadata (secret, constraint) of everything below it.
    """
    tp: Any = root
    field: attrs.Attribute | None = None
    for segment in path:
        if is_section(tp):
            if not isinstance(segment, str):
                return None
            found = field_named(tp, segment)
            if found is None:
                return None
            field, tp = found, found.type
        elif is_dict_type(tp):
            tp = item_type(tp)
        elif is_list_type(tp) and isinstance(segment, int):
            tp = item_type(tp)
        else:
            return None
    return Located(tp, field)


def format_path(path: Sequence[str | int]) -> str:
    """``("rpc", "http_urls", 1)`` -> ``rpc.http_urls[1]``."""
    out = ""
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out += ("." if out else "") + str(segment)
    return out
