"""The recording file: one session's feed frames and the pool state they start from. Pure, no trio.

Format ``mevbot-recording`` version 1: UTF-8 JSON Lines, one record per line, each an object
with a ``record`` key. Integers that can exceed 2**53 (amounts, prices, liquidity, bitmap
words) are decimal strings, as in the store, so other tools read them exactly.

1. one ``header``: ``format``, ``version``, ``chain_id``, ``block_number`` (the block the pool
   state was read at), ``sequence_number`` (that block's feed sequence number: frames up to it
   are already in the state), ``genesis_block``, ``base_fee_wei`` and ``block_timestamp`` of that
   block, ``feed_urls``, ``started_at_ns``, ``sender`` / ``sender_nonce`` (the trading address's
   pending nonce when one was given, else null / 0), ``v3_words_around`` and the whole
   deployment ``manifest``;
2. one ``pool`` per registry pool: ``address``, ``kind`` ("v2" | "v3") and its state at
   ``block_number`` (V2: reserves and fee fraction; V3: price, tick, liquidity, fee, tick
   spacing, the fetched bitmap words, the liquidityNet of their initialised ticks, and the
   complete word range);
3. in arrival order, interleaved as they arrived:

   * one ``frame`` per WebSocket frame: ``n`` (0, 1, 2, ...), ``received_ns`` (unix ns),
     ``feed`` (index into ``feed_urls``) and the frame as received: ``text``, or ``hex`` for a
     binary frame. Frames are kept raw, bad ones too, so a replay meets them as the bot did;
   * one ``head`` per block after ``block_number`` (what the monitor publishes on
     ``chain.head``): ``received_ns``, ``number``, ``hash``, ``parent_hash``, ``timestamp``,
     ``gas_limit``, ``gas_used``, ``base_fee_per_gas``;
   * one ``logs`` per block with logs of a manifest pool (``market.pool.logs``): ``received_ns``,
     ``block_number``, ``block_hash`` and ``logs`` (each: ``address``, ``topics`` and ``data`` as
     0x-hex, ``block_number``, ``block_hash``, ``transaction_hash``, ``transaction_index``,
     ``log_index``, ``removed``);
4. one ``end``: ``frames`` (the count of frame records) and ``ended_at_ns``. A file without it
   was cut short.

:func:`read_recording` checks everything before a replay starts and raises
:class:`~mevbot.replay.errors.RecordingError` naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from mevbot.pricing.errors import PricingError
from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import V3PoolState
from mevbot.replay.errors import RecordingError
from mevbot.rpc.chaindata import BlockHead, BlockLogs, LogEntry

FORMAT = "mevbot-recording"
VERSION = 1

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@attrs.frozen
class RecordingHeader:
    chain_id: int
    block_number: int
    sequence_number: int
    genesis_block: int
    base_fee_wei: int
    block_timestamp: int
    feed_urls: tuple[str, ...]
    started_at_ns: int
    manifest: Mapping[str, Any]
    v3_words_around: int = 2
    sender: str | None = None
    sender_nonce: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"record": "header", "format": FORMAT, "version": VERSION, "chain_id": self.chain_id,
                "block_number": self.block_number, "sequence_number": self.sequence_number,
                "genesis_block": self.genesis_block, "base_fee_wei": str(self.base_fee_wei),
                "block_timestamp": self.block_timestamp, "feed_urls": list(self.feed_urls),
                "started_at_ns": self.started_at_ns, "sender": self.sender, "sender_nonce": self.sender_nonce,
                "v3_words_around": self.v3_words_around, "manifest": self.manifest}


@attrs.frozen
class RecordedPool:
    address: str
    state: V2PoolState | V3PoolState


@attrs.frozen
class RecordedFrame:
    n: int
    received_ns: int
    feed: int
    frame: str | bytes
    line: int  # where it is in the file, for messages


@attrs.frozen
class RecordedChainEvent:
    """A ``chain.head`` (:class:`BlockHead`) or ``market.pool.logs`` (:class:`BlockLogs`) as the monitor saw it."""

    received_ns: int
    payload: BlockHead | BlockLogs
    line: int


@attrs.frozen
class Recording:
    path: str
    header: RecordingHeader
    pools: tuple[RecordedPool, ...]
    frames: tuple[RecordedFrame, ...]
    ended_at_ns: int
    #: frames and chain events together, in the order they arrived
    events: tuple[RecordedFrame | RecordedChainEvent, ...] = ()


# --- pool states ------------------------------------------------------------------------

def pool_to_json(address: str, state: V2PoolState | V3PoolState) -> dict[str, Any]:
    if isinstance(state, V2PoolState):
        return {"record": "pool", "address": address, "kind": "v2", "reserve0": str(state.reserve0),
                "reserve1": str(state.reserve1), "fee_numerator": state.fee_numerator,
                "fee_denominator": state.fee_denominator}
    return {"record": "pool", "address": address, "kind": "v3", "sqrt_price_x96": str(state.sqrt_price_x96),
            "tick": state.tick, "liquidity": str(state.liquidity), "fee_pips": state.fee_pips,
            "tick_spacing": state.tick_spacing,
            "bitmap_words": {str(w): str(v) for w, v in sorted(state.bitmap_words.items())},
            "liquidity_net_by_tick": {str(t): str(v) for t, v in sorted(state.liquidity_net_by_tick.items())},
            "complete_word_range": list(state.complete_word_range) if state.complete_word_range else None}


def pool_from_json(record: Mapping[str, Any]) -> RecordedPool:
    """Raises KeyError/TypeError/ValueError/PricingError on a malformed record."""
    address = record["address"]
    if not isinstance(address, str) or not address.startswith("0x") or len(address) != 42:
        raise ValueError(f"pool address {address!r} is not a 0x-prefixed 20-byte hex address")
    kind = record["kind"]
    if kind == "v2":
        state = V2PoolState(int(record["reserve0"]), int(record["reserve1"]), int(record["fee_numerator"]),
                            int(record["fee_denominator"]))
    elif kind == "v3":
        word_range = record.get("complete_word_range")
        state = V3PoolState(
            sqrt_price_x96=int(record["sqrt_price_x96"]), tick=int(record["tick"]), liquidity=int(record["liquidity"]),
            fee_pips=int(record["fee_pips"]), tick_spacing=int(record["tick_spacing"]),
            bitmap_words={int(w): int(v) for w, v in record["bitmap_words"].items()},
            liquidity_net_by_tick={int(t): int(v) for t, v in record["liquidity_net_by_tick"].items()},
            complete_word_range=(int(word_range[0]), int(word_range[1])) if word_range else None)
    else:
        raise ValueError(f"pool kind {kind!r}; expected 'v2' or 'v3'")
    return RecordedPool(address.lower(), state)


# --- chain events -----------------------------------------------------------------------

def head_to_json(head: BlockHead, received_ns: int) -> dict[str, Any]:
    return {"record": "head", "received_ns": received_ns, "number": head.number, "hash": head.hash,
            "parent_hash": head.parent_hash, "timestamp": head.timestamp, "gas_limit": head.gas_limit,
            "gas_used": head.gas_used,
            "base_fee_per_gas": None if head.base_fee_per_gas is None else str(head.base_fee_per_gas)}


def head_from_json(record: Mapping[str, Any]) -> BlockHead:
    base_fee = record["base_fee_per_gas"]
    return BlockHead(number=int(record["number"]), hash=str(record["hash"]), parent_hash=str(record["parent_hash"]),
                     timestamp=int(record["timestamp"]), gas_limit=int(record["gas_limit"]),
                     gas_used=int(record["gas_used"]), base_fee_per_gas=None if base_fee is None else int(base_fee))


def logs_to_json(block_logs: BlockLogs, received_ns: int) -> dict[str, Any]:
    return {"record": "logs", "received_ns": received_ns, "block_number": block_logs.block_number,
            "block_hash": block_logs.block_hash,
            "logs": [{"address": e.address, "topics": ["0x" + t.hex() for t in e.topics], "data": "0x" + e.data.hex(),
                      "block_number": e.block_number, "block_hash": e.block_hash,
                      "transaction_hash": e.transaction_hash, "transaction_index": e.transaction_index,
                      "log_index": e.log_index, "removed": e.removed} for e in block_logs.logs]}


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"{what} {value!r} is not 0x-hex")
    return bytes.fromhex(value[2:])


def logs_from_json(record: Mapping[str, Any]) -> BlockLogs:
    entries = []
    for e in record["logs"]:
        entries.append(LogEntry(address=str(e["address"]), topics=tuple(_hex(t, "topic") for t in e["topics"]),
                                data=_hex(e["data"], "data"), block_number=int(e["block_number"]),
                                block_hash=str(e["block_hash"]), transaction_hash=str(e["transaction_hash"]),
                                transaction_index=int(e["transaction_index"]), log_index=int(e["log_index"]),
                                removed=bool(e["removed"])))
    return BlockLogs(int(record["block_number"]), str(record["block_hash"]), tuple(entries))


# --- writing ----------------------------------------------------------------------------

class RecordingWriter:
    """Writes one recording, record by record; :meth:`close` writes the end record."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self.frames = 0

    def _write(self, record: dict[str, Any]) -> None:
        self._out.write(_dumps(record) + "\n")

    def header(self, header: RecordingHeader) -> None:
        self._write(header.to_json())

    def pool(self, address: str, state: V2PoolState | V3PoolState) -> None:
        self._write(pool_to_json(address, state))

    def frame(self, feed: int, frame: str | bytes, received_ns: int) -> None:
        record: dict[str, Any] = {"record": "frame", "n": self.frames, "received_ns": received_ns, "feed": feed}
        if isinstance(frame, bytes):
            record["hex"] = frame.hex()
        else:
            record["text"] = frame
        self._write(record)
        self._out.flush()  # a frame is on disk once received: a killed recorder loses none
        self.frames += 1

    def head(self, head: BlockHead, received_ns: int) -> None:
        self._write(head_to_json(head, received_ns))
        self._out.flush()

    def logs(self, block_logs: BlockLogs, received_ns: int) -> None:
        self._write(logs_to_json(block_logs, received_ns))
        self._out.flush()

    def close(self, ended_at_ns: int) -> None:
        self._write({"record": "end", "frames": self.frames, "ended_at_ns": ended_at_ns})
        self._out.flush()


# --- reading ----------------------------------------------------------------------------

def _header_from_json(record: Mapping[str, Any]) -> RecordingHeader:
    if record.get("format") != FORMAT:
        raise ValueError(f"format {record.get('format')!r}; expected {FORMAT!r}")
    if record.get("version") != VERSION:
        raise ValueError(f"format version {record.get('version')!r}; this mevbot reads version {VERSION}")
    manifest = record["manifest"]
    if not isinstance(manifest, dict):
        raise ValueError("manifest is not an object")
    urls = record["feed_urls"]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ValueError("feed_urls is not a non-empty list of URLs")
    return RecordingHeader(
        chain_id=int(record["chain_id"]), block_number=int(record["block_number"]),
        sequence_number=int(record["sequence_number"]), genesis_block=int(record["genesis_block"]),
        base_fee_wei=int(record["base_fee_wei"]), block_timestamp=int(record["block_timestamp"]),
        feed_urls=tuple(urls), started_at_ns=int(record["started_at_ns"]), manifest=manifest,
        v3_words_around=int(record.get("v3_words_around", 2)), sender=record.get("sender"),
        sender_nonce=int(record.get("sender_nonce") or 0))


def _frame_from_json(record: Mapping[str, Any], expected_n: int, feeds: int, line: int) -> RecordedFrame:
    n = record["n"]
    if n != expected_n:
        raise ValueError(f"frame number {n!r}; expected {expected_n} (frames are numbered 0, 1, 2, ... in order)")
    feed = record["feed"]
    if not isinstance(feed, int) or not 0 <= feed < feeds:
        raise ValueError(f"feed index {feed!r}; the header names {feeds} feed URL(s)")
    received = record["received_ns"]
    if not isinstance(received, int):
        raise ValueError(f"received_ns {received!r} is not an integer")
    if "text" in record and isinstance(record["text"], str):
        frame: str | bytes = record["text"]
    elif "hex" in record and isinstance(record["hex"], str):
        frame = bytes.fromhex(record["hex"])
    else:
        raise ValueError("a frame needs 'text' (a string) or 'hex'")
    return RecordedFrame(n, received, feed, frame, line)


def read_recording(path: str | Path) -> Recording:
    """The whole recording at ``path``, checked; RecordingError (file and line) otherwise."""
    name = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        raise RecordingError(name, "no such recording (expected a file written by `mevbot record`)") from None
    except IsADirectoryError:
        raise RecordingError(name, "is a directory; expected a recording file written by `mevbot record`") from None
    except UnicodeDecodeError as exc:
        raise RecordingError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start}): not a recording") from None
    except OSError as exc:
        raise RecordingError(name, f"cannot read: {exc.strerror}") from None
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        # the last line has no newline: the writer was stopped in the middle of a record
        pass
    if not lines:
        raise RecordingError(name, "empty file; expected a header record on line 1")
    header: RecordingHeader | None = None
    pools: list[RecordedPool] = []
    frames: list[RecordedFrame] = []
    events: list[RecordedFrame | RecordedChainEvent] = []
    ended: int | None = None
    for number, text in enumerate(lines, start=1):
        try:
            record = json.loads(text)
        except ValueError as exc:
            cut = " (the file was cut short mid-record)" if number == len(lines) else ""
            raise RecordingError(name, f"not a JSON record: {exc}{cut}", number) from None
        if not isinstance(record, dict) or not isinstance(record.get("record"), str):
            raise RecordingError(name, "expected a JSON object with a 'record' key", number)
        kind = record["record"]
        if ended is not None:
            raise RecordingError(name, f"a {kind!r} record after the end record", number)
        try:
            if header is None:
                if kind != "header":
                    raise ValueError(f"the first record is {kind!r}; expected 'header' (is this a recording?)")
                header = _header_from_json(record)
            elif kind == "pool":
                if events:
                    raise ValueError("a pool record after the first frame or chain event; pools come first")
                pools.append(pool_from_json(record))
            elif kind == "frame":
                frames.append(_frame_from_json(record, len(frames), len(header.feed_urls), number))
                events.append(frames[-1])
            elif kind in ("head", "logs"):
                received = record["received_ns"]
                if not isinstance(received, int):
                    raise ValueError(f"received_ns {received!r} is not an integer")
                payload = head_from_json(record) if kind == "head" else logs_from_json(record)
                events.append(RecordedChainEvent(received, payload, number))
            elif kind == "end":
                if record.get("frames") != len(frames):
                    raise ValueError(f"the end record counts {record.get('frames')!r} frames; the file has "
                                     f"{len(frames)}")
                ended = int(record["ended_at_ns"])
            else:
                raise ValueError(f"unknown record type {kind!r}; expected header, pool, frame, head, logs or end")
        except (KeyError, TypeError, ValueError, PricingError) as exc:
            problem = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise RecordingError(name, f"bad {kind} record: {problem}", number) from None
    if ended is None:
        raise RecordingError(name, f"truncated: no end record after line {len(lines)} (the recording was "
                                   "cut short; a complete one ends with an 'end' record)", len(lines))
    assert header is not None
    return Recording(name, header, tuple(pools), tuple(frames), ended, tuple(events))
