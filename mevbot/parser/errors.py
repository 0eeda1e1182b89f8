"""The parser's exceptions.

Decoders raise these internally; the parser classes (:class:`CalldataParser`,
:class:`LogParser`) catch them at the boundary, count them by ``kind`` and move on, so
malformed input never escapes a service loop.
"""

from __future__ import annotations


class ParserError(Exception):
    """Base of every parser error."""

    kind = "parser_error"


class CalldataDecodeError(ParserError):
    """Calldata sent to a known router does not decode as the function its selector names."""

    kind = "calldata_decode_error"

    def __init__(self, *, router: str, function: str, where: str, problem: str) -> None:
        self.router = router
        self.function = function
        self.where = where
        self.problem = problem
        super().__init__(f"calldata of {function} to router {router} at {where}: {problem}")


class LogDecodeError(ParserError):
    """A log whose topic0 names a pool or factory event did not decode as that event."""

    kind = "log_decode_error"

    def __init__(self, *, address: str, event: str, where: str, problem: str) -> None:
        self.address = address
        self.event = event
        self.where = where
        self.problem = problem
        super().__init__(f"log of {address} ({event}) at {where}: {problem}")
