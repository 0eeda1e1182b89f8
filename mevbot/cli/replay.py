"""`mevbot replay PATH --out DECISIONS.jsonl`: a recording through the pipeline, execution in dry run.

Deterministic: the same recording and config give byte-identical output (docs/replay.md says
how, and what replay fixes instead of asking a chain). Exit codes: 0 replayed, 1 the recording
is missing, corrupt or truncated (the message names the file and line) or the output cannot be
written, 2 bad arguments or invalid config.
"""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option

EXIT_BAD_RECORDING = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay", help="replay a recording and write every decision",
        description="Run a recording (from `mevbot record`) through parser, pool state, scanner, risk and "
                    "execution in dry run, strictly in feed order, and write every decision as JSON lines: "
                    "opportunities, risk decisions and the transactions execution would send.")
    add_config_option(parser)
    parser.add_argument("path", metavar="PATH", help="recording file")
    parser.add_argument("--out", "-o", required=True, metavar="DECISIONS.jsonl",
                        help="where to write the decisions ('-' for stdout)")
    parser.set_defaults(handler=handle_replay)


def handle_replay(args: argparse.Namespace) -> int:
    import contextlib
    import logging
    import os

    import trio

    from mevbot.config import ConfigError, load_config
    from mevbot.replay.errors import RecordingError
    from mevbot.replay.recording import read_recording
    from mevbot.replay.replayer import replay_recording

    try:
        config = load_config(args.config, overrides=args.overrides)
    except ConfigError as exc:
        print(f"mevbot replay: invalid config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        recording = read_recording(args.path)
    except RecordingError as exc:
        print(f"mevbot replay: bad recording: {exc}", file=sys.stderr)
        return EXIT_BAD_RECORDING
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = contextlib.nullcontext(sys.stdout) if args.out == "-" else open(args.out, "w", encoding="utf-8")
    except OSError as exc:
        print(f"mevbot replay: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_RECORDING
    with out as stream:
        try:
            summary = trio.run(replay_recording, recording, config, stream)
        except RecordingError as exc:
            print(f"mevbot replay: bad recording: {exc}", file=sys.stderr)
            failed = True
        else:
            failed = False
    if failed:
        if args.out != "-":
            os.unlink(args.out)  # no half-written decisions file left behind
        return EXIT_BAD_RECORDING
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.decisions.items())) or "no decisions"
    print(f"replayed {summary.frames} frames ({summary.blocks} blocks): {counts}", file=sys.stderr)
    return 0
