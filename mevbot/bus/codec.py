"""Envelope <-> bytes (pure logic, no I/O).

Wire layout of one frame body (little-endian), chosen by measurement (bench/bus.py, codec rows):

    u8  magic 0xB5          u8  payload encoding (0 JSON via cattrs, 1 binary layout)
    u16 schema version      u64 id high, u64 id low, u64 created_ns,
    u64 trace high, u64 trace low, u64 correlation id (low 64 bits)
    u8  len(topic), u8 len(tag), u8 len(source), u8 len(reply_to)
    topic, tag, source, reply_to (UTF-8), then the payload bytes to the end of the frame.

The fixed header is one ``struct`` call each way and the short strings are memoised (one by one
when encoding, as one block keyed by their bytes when decoding), so the envelope costs well under
a microsecond; payloads use the type's hand-written layout when it has
one (the hottest types) and the shared cattrs JSON converter otherwise. Any malformed input raises
:class:`MessageDecodeError` with the reason, which the bus dead-letters.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter

from mevbot.bus.envelope import Envelope
from mevbot.bus.errors import MessageDecodeError, UnknownMessageType
from mevbot.bus.registry import MESSAGES, MessageRegistry

MAGIC = 0xB5
ENCODING_JSON = 0
ENCODING_BINARY = 1
_HEADER = struct.Struct("<BBHQQQQQQBBBB")
HEADER_SIZE = _HEADER.size
_unpack_header = _HEADER.unpack_from
_LEAD_SIZE = 4  # magic, encoding, version
_IDS = struct.Struct("<QQQQQQ")  # id high, id low, created_ns, trace high, trace low, correlation
_IDS_SIZE = _IDS.size
_unpack_ids = _IDS.unpack_from
# encode packs the header's constant bytes (lead: magic, encoding, version; tail: the string
# lengths and strings) with the per-message ids and time in one call of a Struct made per
# (topic, tag, source, reply_to, version, encoding)
_pack_lead = struct.Struct("<BBH").pack
_pack_lens = struct.Struct("<BBBB").pack
_pack_id = struct.Struct("<QQ").pack
_MASK64 = (1 << 64) - 1
_NO_CORRELATION = bytes(8)

converter = make_converter()
"""The bus's one cattrs converter (JSON-ready unstructuring; bytes as base85)."""

_json_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_json_loads = json.loads

_encoded: dict[str, bytes] = {}
_STRING_CACHE_LIMIT = 4096


def _encode_str(value: str) -> bytes:
    raw = _encoded.get(value)
    if raw is None:
        raw = value.encode()
        if len(raw) > 255:
            raise ValueError(f"{value[:40]!r}... is {len(raw)} bytes; topics, tags and module "
                             "names must fit in 255 bytes")
        if len(_encoded) >= _STRING_CACHE_LIMIT:
            _encoded.clear()
        _encoded[value] = raw
    return raw


def _malformed(tag: str, exc: Exception) -> MessageDecodeError:
    """The error for a binary payload its type's hand-written layout could not read."""
    return MessageDecodeError(f"{tag!r} binary payload is malformed: {exc!r}")


class Codec:
    """Encodes and decodes envelopes of the message types in one registry."""

    def __init__(self, registry: MessageRegistry = MESSAGES) -> None:
        self.registry = registry
        self._by_tag = registry._by_tag  # read-only fast path; misses go through for_tag
        # (topic, tag, source, reply_to, version, encoding) -> the header's constant bytes
        self._encode_parts: dict[tuple, tuple[bytes, bytes]] = {}
        # the bytes of the four strings -> (topic, tag, source, reply_to, the tag's entry)
        self._decode_strings: dict[bytes, tuple] = {}

    def encode_payload(self, tag: str, payload: Any) -> tuple[int, bytes]:
        entry = self.registry.for_tag(tag)
        if entry.pack is not None:
            return ENCODING_BINARY, entry.pack(payload)
        return ENCODING_JSON, _json_dumps(converter.unstructure(payload, entry.cls)).encode()

    def encode(self, env: Envelope) -> bytes:
        """The frame body of ``env`` (without the transport's length prefix)."""
        entry = self._by_tag.get(env.tag) or self.registry.for_tag(env.tag)
        if entry.pack is not None:
            encoding, body = ENCODING_BINARY, entry.pack(env.payload)
        else:
            encoding = ENCODING_JSON
            body = _json_dumps(converter.unstructure(env.payload, entry.cls)).encode()
        key = (env.topic, env.tag, env.source, env.reply_to, env.version, encoding)
        parts = self._encode_parts.get(key)
        if parts is None:
            parts = self._parts_of(key)
        lead, tail, pack_fresh, pack_any = parts
        message_id = env.id
        if env.trace_id == message_id and not env.correlation_id:
            # a fresh message (its own trace, no correlation): the id is packed once, used twice
            packed_id = _pack_id(message_id >> 64, message_id & _MASK64)
            return pack_fresh(lead, packed_id, env.created_ns, packed_id, _NO_CORRELATION, tail) + body
        trace_id = env.trace_id
        return pack_any(lead, message_id >> 64, message_id & _MASK64, env.created_ns, trace_id >> 64,
                        trace_id & _MASK64, env.correlation_id & _MASK64, tail) + body

    def encode_run(self, envs: list[Envelope]) -> list[bytes]:
        """:meth:`encode` of each envelope of a run sharing one topic, source and reply_to
        (``Bus.publish_many``): the type's layout and the header's constant bytes are looked up
        once per change of type instead of once per message."""
        frames = []
        append = frames.append
        last_tag = None
        pack = entry = lead = tail = pack_fresh = pack_any = None
        for env in envs:
            if env.tag != last_tag:
                last_tag = env.tag
                entry = self._by_tag.get(last_tag) or self.registry.for_tag(last_tag)
                pack = entry.pack
                lead, tail, pack_fresh, pack_any = self._parts_of(
                    (env.topic, last_tag, env.source, env.reply_to, env.version,
                     ENCODING_BINARY if pack is not None else ENCODING_JSON))
            if pack is not None:
                body = pack(env.payload)
            else:
                body = _json_dumps(converter.unstructure(env.payload, entry.cls)).encode()
            message_id = env.id
            if env.trace_id == message_id and not env.correlation_id:
                packed_id = _pack_id(message_id >> 64, message_id & _MASK64)
                append(pack_fresh(lead, packed_id, env.created_ns, packed_id, _NO_CORRELATION, tail) + body)
            else:
                trace_id = env.trace_id
                append(pack_any(lead, message_id >> 64, message_id & _MASK64, env.created_ns,
                                trace_id >> 64, trace_id & _MASK64, env.correlation_id & _MASK64,
                                tail) + body)
        return frames

    def layout_for(self, topic: str, tag: str, source: str, version: int) -> tuple | None:
        """(payload packer, lead, tail, header packer) of a binary-layout type published on
        ``topic`` by ``source`` with no reply_to: what :meth:`Bus.publish` builds a frame with
        itself, ``pack_header(lead, id high, id low, created_ns, trace high, trace low,
        correlation, tail) + pack(payload)``, the same bytes as :meth:`encode`; None for a type
        without one (JSON: publish calls :meth:`encode`)."""
        entry = self._by_tag.get(tag) or self.registry.for_tag(tag)
        if entry.pack is None:
            return None
        lead, tail, _, pack_any = self._parts_of((topic, tag, source, "", version, ENCODING_BINARY))
        return entry.pack, lead, tail, pack_any

    def _parts_of(self, key: tuple) -> tuple:
        """The constant bytes of a header around its ids, (magic, encoding, version) and (the
        four string lengths, the strings), with the two packers of a whole header (a fresh
        message's, whose trace is its id and which has no correlation id, and any message's),
        for one (topic, tag, source, reply_to, version, encoding); memoised, since a process
        publishes few distinct combinations."""
        topic, tag, source, reply_to, version, encoding = key
        parts = self._encode_parts.get(key)
        if parts is not None:
            return parts
        strings = [_encode_str(value) if value else b"" for value in (topic, tag, source, reply_to)]
        tail = _pack_lens(*(len(raw) for raw in strings)) + b"".join(strings)
        parts = (_pack_lead(MAGIC, encoding, version), tail,
                 struct.Struct(f"<4s16sQ16s8s{len(tail)}s").pack,
                 struct.Struct(f"<4s6Q{len(tail)}s").pack)
        if len(self._encode_parts) >= _STRING_CACHE_LIMIT:
            self._encode_parts.clear()
        self._encode_parts[key] = parts
        return parts

    def decode_header(self, frame: bytes) -> tuple:
        if len(frame) < HEADER_SIZE:
            raise MessageDecodeError(f"frame of {len(frame)} bytes is shorter than the "
                                     f"{HEADER_SIZE}-byte envelope header")
        fields = _HEADER.unpack_from(frame)
        if fields[0] != MAGIC:
            raise MessageDecodeError(f"frame starts with 0x{fields[0]:02x}, expected envelope "
                                     f"magic 0x{MAGIC:02x}")
        return fields

    def _strings_from(self, raw: bytes, topic_len: int, tag_len: int, source_len: int) -> tuple:
        """(topic, tag, source, reply_to, the tag's registry entry) from the header's string
        bytes, memoised by them; an unknown tag raises (and is not memoised)."""
        try:
            tag_at = topic_len + tag_len
            source_at = tag_at + source_len
            tag = raw[topic_len:tag_at].decode()
            strings = (raw[:topic_len].decode(), tag, raw[tag_at:source_at].decode(),
                       raw[source_at:].decode(), self._by_tag.get(tag) or self.registry.for_tag(tag))
        except UnicodeDecodeError as exc:
            raise MessageDecodeError(f"envelope string is not UTF-8: {exc}") from None
        if len(self._decode_strings) >= _STRING_CACHE_LIMIT:
            self._decode_strings.clear()
        self._decode_strings[raw] = strings
        return strings

    def decode(self, frame: bytes) -> Envelope:
        """The envelope in ``frame``; raises :class:`MessageDecodeError` saying why not."""
        failed: list = []
        envs = self.decode_many((frame,), failed)
        if failed:
            raise failed[0][1]
        return envs[0]

    def decode_many(self, frames, failed: list) -> list[Envelope]:
        """The envelopes of ``frames`` in order; each frame that does not decode is left out and
        appended to ``failed`` as (frame, :class:`MessageDecodeError`). One call per received
        batch: the per-frame work is the loop body, not a method call each.

        A frame of a binary-layout type whose lead (magic, encoding, version) and string block
        (the four lengths and the strings) are the bytes of the frame before's takes a shorter
        path: two ``startswith`` checks instead of slicing, hashing and looking up the block,
        then the six ids and times. A batch is mostly runs of one topic from one source."""
        envs: list[Envelope] = []
        append = envs.append
        strings_of = self._decode_strings.get
        lead = block = None  # the previous frame's bytes 0-4 and 52-end, when it took the binary path
        end, unpack, tag = 0, None, ""  # that frame's payload offset, layout and tag (set with lead)
        for frame in frames:
            if lead is not None and frame.startswith(lead) and frame.startswith(block, _LEAD_SIZE + _IDS_SIZE):
                id_hi, id_lo, created_ns, trace_hi, trace_lo, correlation_id = _unpack_ids(frame, _LEAD_SIZE)
                try:
                    payload = unpack(frame[end:])
                except Exception as exc:  # a hand-written layout may raise anything on bad bytes
                    failed.append((frame, _malformed(tag, exc)))
                    continue
            else:
                lead = None
                try:
                    try:
                        (magic, encoding, version, id_hi, id_lo, created_ns, trace_hi, trace_lo,
                         correlation_id, topic_len, tag_len, source_len, reply_len) = _unpack_header(frame)
                    except struct.error:
                        magic = None
                    if magic != MAGIC:
                        self.decode_header(frame)  # raises with the precise reason
                    end = HEADER_SIZE + topic_len + tag_len + source_len + reply_len
                    if end > len(frame):
                        raise MessageDecodeError(f"envelope strings need {end} bytes, frame has {len(frame)}")
                    raw = frame[HEADER_SIZE:end]
                    strings = strings_of(raw)
                    if strings is None:
                        strings = self._strings_from(raw, topic_len, tag_len, source_len)
                    topic, tag, source, reply_to, entry = strings
                    unpack = entry.unpack
                    if encoding == ENCODING_BINARY and unpack is not None and version == entry.version:
                        try:
                            payload = unpack(frame[end:])
                        except Exception as exc:  # a hand-written layout may raise anything on bad bytes
                            raise _malformed(tag, exc) from None
                        lead, block = frame[:_LEAD_SIZE], frame[_LEAD_SIZE + _IDS_SIZE:end]
                    else:
                        payload = self._decode_payload(entry, encoding, version, frame[end:])
                except MessageDecodeError as exc:
                    failed.append((frame, exc))
                    continue
            message_id = (id_hi << 64) | id_lo
            append(Envelope(message_id, topic, tag, entry.version, created_ns,
                            message_id if trace_lo == id_lo and trace_hi == id_hi else (trace_hi << 64) | trace_lo,
                            source, payload, reply_to, correlation_id))
        return envs

    def _decode_payload(self, entry, encoding: int, version: int, body: bytes) -> Any:
        tag = entry.tag
        if encoding == ENCODING_BINARY:
            if entry.unpack is None or version != entry.version:
                raise MessageDecodeError(f"{tag!r} v{version} arrived in a binary layout this "
                                         f"process cannot read (it knows v{entry.version})")
            try:
                return entry.unpack(body)
            except Exception as exc:  # a hand-written layout may raise anything on bad bytes
                raise _malformed(tag, exc) from None
        if encoding != ENCODING_JSON:
            raise MessageDecodeError(f"{tag!r}: unknown payload encoding {encoding}, expected 0 or 1")
        try:
            data = _json_loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MessageDecodeError(f"{tag!r} JSON payload is malformed: {exc}") from None
        if version != entry.version:
            if entry.upgrade is None or version > entry.version:
                raise MessageDecodeError(f"{tag!r} arrived as schema v{version}; this process reads "
                                         f"v{entry.version} and has no upgrade from v{version}")
            data = entry.upgrade(data, version)
        try:
            return converter.structure(data, entry.cls)
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            detail = "; ".join(cattrs.transform_error(exc)) if isinstance(
                exc, cattrs.BaseValidationError) else repr(exc)
            raise MessageDecodeError(f"{tag!r} payload does not fit {entry.cls.__qualname__}: "
                                     f"{detail}") from None


__all__ = ["Codec", "MessageDecodeError", "UnknownMessageType", "converter", "HEADER_SIZE"]
