"""The control protocol: newline-delimited JSON, one request and one reply per line (pure).

A request is ``{"cmd": "<name>", "args": {...}}`` (``args`` optional); a reply is
``{"ok": true, ...}`` or ``{"ok": false, "error": "<what went wrong>"}``. Lines are UTF-8 and
at most :data:`MAX_MESSAGE_BYTES` long, so a broken or hostile client cannot make the bot buffer
without bound.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from mevbot.control.errors import BadControlMessage

MAX_MESSAGE_BYTES = 64 * 1024
#: Replies may carry tables (dead letters, routes); they get more room than requests.
MAX_REPLY_BYTES = 16 * 1024 * 1024


@attrs.frozen
class ControlRequest:
    cmd: str
    args: dict[str, Any] = attrs.field(factory=dict)


def encode_request(cmd: str, args: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"cmd": cmd, "args": args or {}}, separators=(",", ":")).encode() + b"\n"


def decode_request(line: bytes) -> ControlRequest:
    """Parse one request line; raises :class:`BadControlMessage` saying what was wrong."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise BadControlMessage(f"request of {len(line)} bytes; expected at most {MAX_MESSAGE_BYTES}")
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadControlMessage(f"request is not valid JSON ({exc}); "
                                'expected one line like {"cmd": "status", "args": {}}') from None
    if not isinstance(message, dict):
        raise BadControlMessage(f"request is a JSON {type(message).__name__}; expected an object with \"cmd\"")
    cmd = message.get("cmd")
    if not isinstance(cmd, str) or not cmd:
        raise BadControlMessage(f'request "cmd" is {cmd!r}; expected a non-empty string')
    args = message.get("args", {})
    if not isinstance(args, dict):
        raise BadControlMessage(f'request "args" is a JSON {type(args).__name__}; expected an object')
    return ControlRequest(cmd, args)


def encode_reply(reply: dict[str, Any]) -> bytes:
    return json.dumps(reply, separators=(",", ":"), default=str).encode() + b"\n"


def decode_reply(line: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadControlMessage(f"reply is not valid JSON ({exc})") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise BadControlMessage(f'reply {line[:200]!r} is not an object with a boolean "ok"')
    return reply
