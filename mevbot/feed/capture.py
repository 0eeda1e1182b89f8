"""Saved feed captures in, one JSON record per transaction out. Pure: the CLI does the I/O.

A capture is either JSON Lines (one frame per line, as a relay or ``websocat`` saves them) or
one JSON document: a ``BroadcastMessage``, a bare ``BroadcastFeedMessage`` (one element of a
frame's ``messages``), or a list of either. Every malformed frame becomes a
:class:`CaptureProblem` naming where it was, and reading goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from mevbot.feed.blocks import FeedBlock
from mevbot.feed.codec import broadcast_from_json, decode_broadcast, feed_message_from_json
from mevbot.feed.errors import FeedDecodeError, FrameDecodeError
from mevbot.feed.messages import BroadcastMessage
from mevbot.feed.transactions import FeedTransaction


@attrs.frozen
class CaptureProblem:
    where: str  # "FILE:LINE" or "FILE[#i]"
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"error": self.problem, "frame": self.where}


def _from_document(doc: Any, where: str) -> BroadcastMessage:
    if isinstance(doc, dict) and "version" not in doc and "sequenceNumber" in doc:
        return BroadcastMessage(version=1, messages=[feed_message_from_json(doc)])
    return broadcast_from_json(doc)


def read_capture(text: str, name: str) -> Iterator[tuple[str, BroadcastMessage | CaptureProblem]]:
    """(where, frame or problem) for each frame of a capture file's text."""
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        whole = None
        is_document = False
    else:
        is_document = True
    if is_document:
        items = whole if isinstance(whole, list) else [whole]
        for i, doc in enumerate(items):
            where = f"{name}[#{i}]" if isinstance(whole, list) else name
            try:
                yield where, _from_document(doc, where)
            except FeedDecodeError as exc:
                yield where, CaptureProblem(where, str(exc))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            yield where, decode_broadcast(line)
        except FrameDecodeError as exc:
            try:  # a bare feed message on its own line is fine too
                yield where, _from_document(json.loads(line), where)
            except (ValueError, RecursionError, FeedDecodeError):
                yield where, CaptureProblem(where, str(exc))


def transaction_record(block: FeedBlock, tx: FeedTransaction, *, sender: bool = False) -> dict[str, Any]:
    """The JSON line `mevbot feed decode|watch` prints for one transaction."""
    selector = tx.selector
    record: dict[str, Any] = {
        "seq": block.sequence_number,
        "index": tx.index,
        "type": tx.type,
        "hash": tx.hash_hex,
        "to": tx.to,
        "selector": None if selector is None else "0x" + selector.hex(),
    }
    if sender:
        record["sender"] = tx.sender
    return record
