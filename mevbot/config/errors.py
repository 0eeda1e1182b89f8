"""The config manager's errors: one exception carrying every problem found, each with its key
path, the offending value and what was expected, so that a user fixes a file in one pass."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

_MAX_VALUE_CHARS = 80


def _short_repr(value: object) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


@attrs.frozen
class ConfigProblem:
    """One thing wrong with the configuration.

    ``path`` is the dotted key path (``scanner.min_profit_wei``, ``rpc.http_urls[1]``), or
    ``file:line`` for a TOML syntax error, or the raw option for a malformed ``--set`` or
    environment variable. ``source`` says where a value came from when it was not the file
    (``$MEVBOT__SCANNER__MIN_PROFIT_WEI``, ``--set``); empty for the file itself.
    """

    path: str
    value: object
    expected: str
    source: str = ""

    def __str__(self) -> str:
        origin = f" (from {self.source})" if self.source else ""
        shown = "" if self.value is None else f" = {_short_repr(self.value)}"  # TOML has no null
        return f"{self.path}{shown}{origin}: expected {self.expected}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every problem, not only the first."""

    def __init__(self, problems: Iterable[ConfigProblem], *, file: str | None = None) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        self.file = file
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def one_line(self) -> str:
        """All problems on one line, for a single log record."""
        where = f"{self.file}: " if self.file else ""
        return where + "; ".join(str(p) for p in self.problems)


class ValueMismatch(ValueError):
    """Raised inside structuring for one value of the wrong type or outside its constraint;
    the loader turns it into a :class:`ConfigProblem` at that value's path."""

    def __init__(self, value: object, expected: str) -> None:
        super().__init__(f"{value!r}: expected {expected}")
        self.value = value
        self.expected = expected
