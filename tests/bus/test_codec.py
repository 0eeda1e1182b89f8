"""The envelope codec round-trips every registered type and rejects bad bytes with a reason."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, strategies as st

from mevbot.bus.codec import Codec
from mevbot.bus.envelope import make_envelope
from mevbot.bus.errors import MessageDecodeError, RegistrationError, UnknownMessageType
from mevbot.bus.registry import MessageRegistry

from .messages import Quote, Tick

codec = Codec()
topics = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){0,3}", fullmatch=True)


@given(topic=topics, seq=st.integers(-2**63, 2**63 - 1), note=st.text(max_size=50),
       trace=st.integers(0, 2**128 - 1), correlation=st.integers(0, 2**64 - 1))
def test_binary_layout_payload_and_all_envelope_fields_round_trip(topic, seq, note, trace, correlation):
    env = make_envelope(topic, Tick(seq, note), "test.tick", 1, "scanner", trace_id=trace,
                        reply_to="_inbox.hot", correlation_id=correlation)
    assert codec.decode(codec.encode(env)) == env


@given(pool=st.binary(min_size=20, max_size=20), amount=st.integers(0, 2**256 - 1),
       block=st.integers(0, 2**63), path=st.lists(st.text(max_size=10), max_size=4))
def test_cattrs_json_payload_round_trips_big_ints_and_bytes(pool, amount, block, path):
    env = make_envelope("market.quote", Quote(pool, amount, amount // 3, block, path=path),
                        "test.quote", 1, "pricing")
    assert codec.decode(codec.encode(env)) == env


def frame_of(payload=b'{"seq": 1}', tag="test.quote"):
    env = make_envelope("market.quote", Quote(b"\x01" * 20, 1, 2, 3), "test.quote", 1, "x")
    good = codec.encode(env)
    return good


@given(seqs=st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=20),
       amounts=st.lists(st.integers(0, 2**256 - 1), max_size=5), trace=st.integers(0, 2**128 - 1))
def test_encoding_a_run_gives_the_frames_of_encoding_each_message(seqs, amounts, trace):
    """Codec.encode_run (Bus.publish_many) caches per type within the run: a run mixing a binary
    layout and a JSON type, switching back and forth, encodes exactly as message by message."""
    payloads = [Tick(s) for s in seqs] + [Quote(b"p" * 20, a, a // 2, 1) for a in amounts] + [Tick(0)]
    envs = [make_envelope("market.mixed", p, *(("test.tick", 1) if isinstance(p, Tick) else ("test.quote", 1)),
                          "scanner", trace_id=trace) for p in payloads]
    frames = codec.encode_run(envs)
    assert frames == [codec.encode(env) for env in envs]
    assert [codec.decode(f) for f in frames] == envs


def _mangled(frame: bytes, how: str) -> bytes:
    if how == "short payload":  # same lead and strings as a good frame, payload cut
        return frame[:-3]
    if how == "bad magic":
        return b"\x00" + frame[1:]
    if how == "other version":  # a version this process cannot read in the binary layout
        return frame[:2] + b"\x09\x00" + frame[4:]
    return frame


@given(st.lists(st.tuples(st.sampled_from(["market.a", "market.b"]), st.sampled_from(["scanner", "feed"]),
                          st.booleans(), st.integers(-2**63, 2**63 - 1),
                          st.sampled_from(["good", "good", "good", "short payload", "bad magic", "other version"])),
                min_size=1, max_size=30))
def test_decoding_a_batch_gives_what_decoding_each_frame_alone_gives(specs):
    """decode_many reads a frame shaped like the one before it by a shorter path (the lead and
    string bytes compared, not parsed): in a batch mixing topics, sources, binary and JSON
    types and broken frames, every frame decodes, or fails with the reason, as it does alone."""
    frames = []
    for topic, source, binary, seq, how in specs:
        payload, tag = (Tick(seq, "n"), "test.tick") if binary else (Quote(b"q" * 20, abs(seq), 1, 2), "test.quote")
        frames.append(_mangled(codec.encode(make_envelope(topic, payload, tag, 1, source)), how))
    failed: list = []
    envs = codec.decode_many(frames, failed)
    alone_envs, alone_failed = [], []
    for frame in frames:
        try:
            alone_envs.append(codec.decode(frame))
        except MessageDecodeError as exc:
            alone_failed.append((frame, str(exc)))
    assert envs == alone_envs
    assert [(frame, str(exc)) for frame, exc in failed] == alone_failed


@pytest.mark.parametrize("mangle, reason", [
    (lambda f: f[:10], "shorter than"),
    (lambda f: b"\x00" + f[1:], "magic"),
    (lambda f: f[:-5], "malformed"),
    (lambda f: f[:60], "envelope strings need"),
    (lambda f: f.replace(b'"block":3', b'"block":"x"'), "does not fit"),
    (lambda f: f.replace(b"test.quote", b"test.quoth"), "unknown type tag"),
])
def test_malformed_frames_raise_decode_errors_that_say_why(mangle, reason):
    with pytest.raises(MessageDecodeError, match=reason):
        codec.decode(mangle(frame_of()))


def test_an_unknown_tag_is_a_decode_error_subtype():
    with pytest.raises(UnknownMessageType):
        Codec(MessageRegistry()).decode(frame_of())


def test_an_older_schema_version_is_upgraded_when_a_hook_exists():
    @attrs.frozen
    class V:
        amount_wei: int

    old = MessageRegistry()
    old.register(V, "test.v", 1)
    env = make_envelope("a.b", V(5), "test.v", 1, "x")
    frame = Codec(old).encode(env)
    new = MessageRegistry()
    new.register(V, "test.v", 2, upgrade=lambda data, v: {"amount_wei": data["amount_wei"] * 10})
    assert Codec(new).decode(frame).payload == V(50)
    strict = MessageRegistry()
    strict.register(V, "test.v", 2)
    with pytest.raises(MessageDecodeError, match="no upgrade from v1"):
        Codec(strict).decode(frame)


def test_registration_rejects_conflicts_and_non_attrs_classes():
    reg = MessageRegistry()
    reg.register(Tick, "a.tick")
    with pytest.raises(RegistrationError, match="already registered"):
        reg.register(Quote, "a.tick")
    with pytest.raises(RegistrationError, match="attrs class"):
        reg.register(dict, "a.dict")
    with pytest.raises(RegistrationError, match="invalid"):
        reg.register(Quote, "Bad Tag")
