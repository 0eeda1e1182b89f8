"""`mevbot feed decode|watch`: Nitro feed frames to one JSON line per transaction."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    feed = subparsers.add_parser("feed", help="decode saved or live Arbitrum Nitro feed frames",
                                 description="Decode Arbitrum Nitro sequencer-feed frames into transactions.")
    commands = feed.add_subparsers(dest="feed_command", metavar="SUBCOMMAND")
    commands.required = True

    decode = commands.add_parser(
        "decode", help="decode saved frames (JSON Lines or one JSON document)",
        description="Print one JSON line per transaction (seq, index, type, hash, to, selector[, sender]). "
                    "A malformed frame prints an error line to stderr naming it, and decoding goes on; "
                    "the exit status is then 1.")
    decode.add_argument("files", nargs="+", metavar="FILE", help="saved frames: one BroadcastMessage per line, or one JSON document")
    _add_decode_options(decode)
    decode.set_defaults(handler=_decode)

    watch = commands.add_parser("watch", help="print live transactions from feed URLs",
                                description="Connect to one or more feed URLs (the fastest copy of each message wins) "
                                            "and print transactions as `decode` does, until interrupted.")
    watch.add_argument("urls", nargs="+", metavar="URL", help="ws:// or wss:// feed URL")
    _add_decode_options(watch)
    watch.add_argument("--from-seq", type=int, default=None, metavar="N", help="resume from this sequence number")
    watch.add_argument("--count", type=int, default=None, metavar="N", help="stop after N messages")
    watch.add_argument("--stats", action="store_true",
                       help="on exit, print the client's per-feed figures (wins, duplicates, lag) as JSON to stderr")
    watch.set_defaults(handler=_watch)


def _add_decode_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--senders", action="store_true", help="recover and print each transaction's sender")
    parser.add_argument("--chain-id", type=int, default=None, metavar="ID",
                        help="drop transactions signed for another chain; chain id of --verify-signer checks")
    parser.add_argument("--verify-signer", action="append", default=[], metavar="ADDRESS",
                        help="drop messages whose signatureV2 is not from ADDRESS (repeatable; needs --chain-id)")
    parser.add_argument("--genesis-block", type=int, default=0, metavar="N",
                        help="L2 block number of sequence 0 (22207817 on Arbitrum One; default 0)")


def _emit(record: dict[str, Any], stream=None) -> None:
    print(json.dumps(record, separators=(",", ":")), file=stream or sys.stdout, flush=stream is sys.stderr)


def _signers(args: argparse.Namespace) -> frozenset[bytes]:
    from mevbot.feed.addresses import parse_address

    if args.verify_signer and args.chain_id is None:
        raise SystemExit("mevbot feed: --verify-signer needs --chain-id (the signature binds the chain id)")
    try:
        return frozenset(parse_address(a) for a in args.verify_signer)
    except ValueError as exc:
        raise SystemExit(f"mevbot feed: --verify-signer: {exc}") from None


def _decode(args: argparse.Namespace) -> int:
    from mevbot.feed.blocks import decode_block
    from mevbot.feed.capture import CaptureProblem, read_capture, transaction_record
    from mevbot.feed.errors import FeedDecodeError
    from mevbot.feed.signature import recover_feed_signer_bytes

    signers = _signers(args)
    failures = 0
    for path in args.files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as exc:
            _emit({"error": f"cannot read: {exc.strerror}", "frame": path}, sys.stderr)
            failures += 1
            continue
        for where, frame in read_capture(text, path):
            if isinstance(frame, CaptureProblem):
                _emit(frame.to_json(), sys.stderr)
                failures += 1
                continue
            for msg in frame.messages:
                if signers:
                    try:
                        signer = recover_feed_signer_bytes(msg, args.chain_id)
                    except FeedDecodeError as exc:
                        signer, problem = None, str(exc)
                    else:
                        problem = f"signatureV2 of message {msg.sequence_number} is from 0x{signer.hex()}, not a configured signer"
                    if signer not in signers:
                        _emit({"error": problem, "frame": where, "seq": msg.sequence_number}, sys.stderr)
                        failures += 1
                        continue
                block = decode_block(msg, genesis_block=args.genesis_block, chain_id=args.chain_id)
                for problem in block.problems:
                    _emit({"error": problem, "frame": where, "seq": msg.sequence_number}, sys.stderr)
                for tx in block.transactions:
                    try:
                        record = transaction_record(block, tx, sender=args.senders)
                    except FeedDecodeError as exc:
                        _emit({"error": str(exc), "frame": where, "seq": msg.sequence_number, "index": tx.index}, sys.stderr)
                        failures += 1
                        continue
                    _emit(record)
    return 1 if failures else 0


def _watch(args: argparse.Namespace) -> int:
    import logging

    import trio

    from mevbot.feed.capture import transaction_record
    from mevbot.feed.client import FeedClient
    from mevbot.feed.errors import FeedDecodeError

    signers = _signers(args)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    seen = 0

    async def main() -> None:
        done = trio.Event()

        async def on_block(block) -> None:
            nonlocal seen
            if done.is_set():
                return  # --count reached: the client may hand over one more block before it is cancelled
            for tx in block.transactions:
                try:
                    _emit(transaction_record(block, tx, sender=args.senders))
                except FeedDecodeError as exc:
                    _emit({"error": str(exc), "seq": block.sequence_number, "index": tx.index}, sys.stderr)
            seen += 1
            if args.count is not None and seen >= args.count:
                done.set()

        client = FeedClient(args.urls, on_block=on_block, chain_id=args.chain_id, verify_signers=signers,
                            genesis_block=args.genesis_block, start_sequence=args.from_seq)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(client.run)
                await done.wait()
                nursery.cancel_scope.cancel()
        finally:
            if args.stats:
                _emit({"stats": client.stats_summary()}, sys.stderr)

    trio.run(main)
    return 0
