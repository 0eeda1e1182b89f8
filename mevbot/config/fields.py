"""Declaring a config key: its default, whether it reloads live, whether it is a secret, and
which values it accepts.

Every settings class in the tree declares its keys with :func:`setting`, so that the config
manager (validation), `mevbot config show` (redaction) and docs/configuration.md read one
source of truth. Constraints live in the field's metadata rather than in attrs validators so that
the loader can check every key and report all violations at once, each with its key path; an
attrs validator would stop at the first bad field.

A rule that spans several keys (``restart_backoff_max_s >= restart_backoff_s``, "every process
names a declared host") goes in a method of the section class::

    def config_problems(self) -> Iterable[tuple[str, object, str]]:
        if self.restart_backoff_max_s < self.restart_backoff_s:
            yield "restart_backoff_max_s", self.restart_backoff_max_s, ">= restart_backoff_s"

yielding ``(key, value, expected)`` with ``key`` relative to the section (dotted if nested); the
loader calls it once every key has its type and reports each item as a problem at that path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

RELOADABLE = "mevbot.reloadable"
SECRET = "mevbot.secret"
DOC = "mevbot.doc"
CONSTRAINT = "mevbot.constraint"


@attrs.frozen
class Constraint:
    """Which values a key accepts beyond its type. For a list-valued key it applies to each item.

    ``min``/``max`` are inclusive bounds, ``gt`` an exclusive lower bound (``gt=0`` means
    "positive"), ``choices`` the only allowed values, ``pattern`` a regular expression a string
    must match from its start (``re.match``).
    """

    choices: tuple[Any, ...] | None = None
    min: float | int | None = None
    max: float | int | None = None
    gt: float | int | None = None
    pattern: str | None = None

    def describe(self) -> str:
        """The constraint in words, e.g. ``between 1 and 65535`` or ``one of 'text', 'json'``."""
        parts = []
        if self.choices is not None:
            parts.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.gt is not None:
            parts.append(f"> {self.gt}")
        if self.min is not None and self.max is not None:
            parts.append(f"between {self.min} and {self.max}")
        elif self.min is not None:
            parts.append(f">= {self.min}")
        elif self.max is not None:
            parts.append(f"<= {self.max}")
        if self.pattern is not None:
            parts.append(f"matching {self.pattern!r}")
        return " and ".join(parts)

    def accepts(self, value: Any) -> bool:
        if self.choices is not None and value not in self.choices:
            return False
        if self.gt is not None and not value > self.gt:
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        if self.pattern is not None and re.match(self.pattern, value) is None:
            return False
        return True


def setting(default: Any = attrs.NOTHING, *, doc: str, reloadable: bool = False,
            secret: bool = False, factory: Any = None,
            choices: Sequence[Any] | None = None, min: float | int | None = None,  # noqa: A002
            max: float | int | None = None, gt: float | int | None = None,  # noqa: A002
            pattern: str | None = None) -> Any:
    """An attrs field carrying the config metadata the manager needs.

    ``choices``, ``min``, ``max``, ``gt`` and ``pattern`` restrict the accepted values (see
    :class:`Constraint`); the loader enforces them and names the key, the value and the rule.
    """
    metadata: dict[str, Any] = {RELOADABLE: reloadable, SECRET: secret, DOC: doc}
    if any(v is not None for v in (choices, min, max, gt, pattern)):
        metadata[CONSTRAINT] = Constraint(
            choices=tuple(choices) if choices is not None else None,
            min=min, max=max, gt=gt, pattern=pattern)
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def is_reloadable(field: attrs.Attribute) -> bool:
    return bool(field.metadata.get(RELOADABLE, False))


def is_secret(field: attrs.Attribute) -> bool:
    return bool(field.metadata.get(SECRET, False))


def doc_of(field: attrs.Attribute) -> str:
    return str(field.metadata.get(DOC, ""))


def constraint_of(field: attrs.Attribute) -> Constraint | None:
    return field.metadata.get(CONSTRAINT)
