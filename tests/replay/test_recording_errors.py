"""A recording that is missing, corrupt or cut short: a clear error naming the file and line, exit 1.

The broken files are made from a real devnet recording; `mevbot replay` runs as a subprocess.
A frame whose *content* is bad is not a broken recording: the feed client drops it as it did
live, and the replay goes on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mevbot.replay.errors import RecordingError
from mevbot.replay.recording import pool_from_json, pool_to_json, read_recording
from tests.replay.session import mevbot

pytestmark = pytest.mark.devnet


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _replay_fails(work: Path, env: dict, broken: Path) -> str:
    done = mevbot("replay", str(broken), "--out", str(work / "never.jsonl"), cwd=work, env=env)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_recording_cut_mid_record_names_its_last_line(recorded, tmp_path):
    work, path, env, _ = recorded
    lines = _lines(path)
    broken = tmp_path / "cut.rec"
    broken.write_text("".join(lines[:-3]) + lines[-3][: len(lines[-3]) // 2])
    err = _replay_fails(work, env, broken)
    assert f"{broken}:{len(lines) - 2}:" in err and "cut short" in err


def test_a_recording_without_its_end_record_is_reported_truncated(recorded, tmp_path):
    work, path, env, _ = recorded
    lines = _lines(path)
    broken = tmp_path / "no-end.rec"
    broken.write_text("".join(lines[:-1]))
    err = _replay_fails(work, env, broken)
    assert f"{broken}:{len(lines) - 1}:" in err and "truncated: no end record" in err


def test_a_garbage_line_and_a_frame_out_of_order_are_named_by_line(recorded, tmp_path):
    work, path, env, _ = recorded
    lines = _lines(path)
    first, second = [i for i, line in enumerate(lines) if '"record":"frame"' in line][:2]
    garbage = tmp_path / "garbage.rec"
    garbage.write_text("".join(lines[: first + 1] + ["{not json\n"] + lines[first + 2:]))
    assert f"{garbage}:{first + 2}: not a JSON record" in _replay_fails(work, env, garbage)

    swapped = list(lines)
    swapped[first], swapped[second] = lines[second], lines[first]
    reordered = tmp_path / "swapped.rec"
    reordered.write_text("".join(swapped))
    err = _replay_fails(work, env, reordered)
    assert f"{reordered}:{first + 1}: bad frame record: frame number 1; expected 0" in err


def test_a_missing_file_or_a_file_that_is_no_recording_is_named(recorded, tmp_path):
    work, _, env, _ = recorded
    err = _replay_fails(work, env, tmp_path / "nowhere.rec")
    assert f"{tmp_path / 'nowhere.rec'}: no such recording" in err
    other = tmp_path / "config.rec"
    other.write_text('{"record": "pool", "address": "0x00"}\n')
    assert f"{other}:1: bad pool record: the first record is 'pool'; expected 'header'" in _replay_fails(work, env, other)
    newer = tmp_path / "newer.rec"
    header = json.loads(_lines(recorded[1])[0])
    newer.write_text(json.dumps({**header, "version": 99}) + "\n")
    assert "format version 99; this mevbot reads version 1" in _replay_fails(work, env, newer)


def test_a_frame_with_bad_content_is_dropped_as_live_and_the_replay_goes_on(recorded, tmp_path):
    work, path, env, _ = recorded
    lines = _lines(path)
    first_frame = next(i for i, line in enumerate(lines) if '"record":"frame"' in line)
    record = json.loads(lines[first_frame])
    lines[first_frame] = json.dumps({**record, "text": '{"version": 1, "messages": "nope"}'}) + "\n"
    damaged = tmp_path / "damaged.rec"
    damaged.write_text("".join(lines))
    out = tmp_path / "decisions.jsonl"
    done = mevbot("replay", str(damaged), "--out", str(out), cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text().splitlines()[-1])["payload"]
    assert summary["frames_undecodable"] == 1 and summary["frames"] == len(read_recording(path).frames)


def test_every_recorded_pool_state_reads_back_exactly(recorded):
    path = recorded[1]
    records = [json.loads(line) for line in _lines(path)]
    pools = [r for r in records if r["record"] == "pool"]
    assert {r["kind"] for r in pools} == {"v2", "v3"}
    for record in pools:
        pool = pool_from_json(record)
        assert pool_to_json(pool.address, pool.state) == record


def test_read_recording_raises_a_typed_error_in_process(tmp_path):
    empty = tmp_path / "empty.rec"
    empty.write_text("")
    with pytest.raises(RecordingError, match="empty file") as info:
        read_recording(empty)
    assert info.value.path == str(empty) and info.value.line is None


def test_a_malformed_chain_record_is_named_by_line(recorded, tmp_path):
    work, path, env, _ = recorded
    lines = _lines(path)
    at = next(i for i, line in enumerate(lines) if '"record":"logs"' in line)
    record = json.loads(lines[at])
    record["logs"][0]["topics"][0] = "not hex"
    lines[at] = json.dumps(record) + "\n"
    broken = tmp_path / "bad-logs.rec"
    broken.write_text("".join(lines))
    assert f"{broken}:{at + 1}: bad logs record: topic 'not hex' is not 0x-hex" in _replay_fails(work, env, broken)


def test_a_recorded_manifest_the_modules_cannot_use_is_a_bad_recording(recorded, tmp_path):
    work, path, env, _ = recorded
    lines = _lines(path)
    header = json.loads(lines[0])
    header["manifest"]["pools"][0]["address"] = "not an address"
    broken = tmp_path / "bad-manifest.rec"
    broken.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    assert f"{broken}:1: the recorded manifest cannot be used" in _replay_fails(work, env, broken)
    assert not (work / "never.jsonl").exists()  # no half-written decisions file
