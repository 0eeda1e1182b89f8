"""`mevbot record --duration S PATH`: record a live session (feed frames + start pool state) for replay.

Reads ``[monitor] feed_urls``, ``[rpc]`` and the deployment manifest (``[parser] manifest``) from
the config. Exit codes: 0 recorded (after --duration, or at Ctrl-C / SIGTERM), 1 could not start
(no RPC, a pool that cannot be read, an unwritable PATH) or no feed frame arrived, 2 bad
arguments or invalid config. The file format is in docs/replay.md.
"""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option

EXIT_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "record", help="record a live session for `mevbot replay`",
        description="Record the raw feed frames (with receive times) and the state of every registry pool at the "
                    "block the recording starts from, into one versioned JSON-lines file. Stops after --duration "
                    "seconds or on Ctrl-C (the file is complete either way).")
    add_config_option(parser)
    parser.add_argument("path", metavar="PATH", help="recording file to write")
    parser.add_argument("--duration", "-d", type=float, default=None, metavar="S",
                        help="seconds to record (default: until Ctrl-C)")
    parser.add_argument("--sender", default=None, metavar="ADDRESS",
                        help="trading address whose pending nonce replay starts from (the key is never loaded)")
    parser.set_defaults(handler=handle_record)


def handle_record(args: argparse.Namespace) -> int:
    import logging
    import signal

    import trio

    from mevbot.config import ConfigError, load_config
    from mevbot.replay.errors import RecordError
    from mevbot.replay.recorder import record_session

    if args.duration is not None and args.duration <= 0:
        print("mevbot record: --duration must be a positive number of seconds", file=sys.stderr)
        return EXIT_USAGE
    if args.sender is not None:
        from mevbot.feed.addresses import parse_address

        try:
            parse_address(args.sender)
        except ValueError as exc:
            print(f"mevbot record: --sender: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        config = load_config(args.config, overrides=args.overrides)
    except ConfigError as exc:
        print(f"mevbot record: invalid config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    async def record():
        stop = trio.Event()
        summary = error = None
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                async def stop_on_signal() -> None:
                    async for _ in signals:  # Ctrl-C is how a recording without --duration ends
                        stop.set()
                        return

                nursery.start_soon(stop_on_signal)
                try:  # caught here: out of the nursery it would come wrapped in an exception group
                    summary = await record_session(config, args.path, duration_s=args.duration,
                                                   sender=args.sender, stop=stop)
                except RecordError as exc:
                    error = exc
                nursery.cancel_scope.cancel()
        return summary, error, stop.is_set()

    summary, error, interrupted = trio.run(record)
    if error is not None:
        print(f"mevbot record: {error}", file=sys.stderr)
        return EXIT_FAILED
    if interrupted:
        print("mevbot record: stopped by a signal (Ctrl-C); the recording is complete", file=sys.stderr)
    print(f"recorded {summary.frames} frames ({summary.blocks} blocks, {summary.transactions} transactions), "
          f"{summary.heads} heads, {summary.log_batches} log batches and {summary.pools} pools at block "
          f"{summary.block_number} into {summary.path}", file=sys.stderr)
    if summary.frames == 0:
        print(f"mevbot record: no frame came from {', '.join(config.monitor.feed_urls)} ([monitor] feed_urls): "
              "the recording holds only the start state", file=sys.stderr)
        return EXIT_FAILED
    return 0
