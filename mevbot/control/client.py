"""The control client used by `mevbot ctl`: one blocking request over the Unix socket.

Plain blocking sockets on purpose: `mevbot ctl` sends one line and reads one line, and starting
without trio keeps the command quick.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from mevbot.control.errors import BadControlMessage, ControlUnavailable
from mevbot.control.protocol import MAX_REPLY_BYTES, decode_reply, encode_request


def send_command(socket_path: str | os.PathLike[str], cmd: str, args: dict[str, Any] | None = None, *,
                 timeout_s: float = 10.0) -> dict[str, Any]:
    """Send one command and return the bot's reply (``ok`` true or false).

    Raises :class:`ControlUnavailable` when no bot answers on ``socket_path`` and
    :class:`BadControlMessage` when the reply is not a valid reply line.
    """
    path = os.fspath(socket_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(path)
        except FileNotFoundError:
            raise ControlUnavailable(f"no bot is listening on {path}: the socket does not exist "
                                     "(is `mevbot run` running with this config?)") from None
        except ConnectionRefusedError:
            raise ControlUnavailable(f"no bot is listening on {path}: the socket file is stale "
                                     "(the bot that made it is gone)") from None
        except PermissionError:
            raise ControlUnavailable(f"permission denied on {path}: the socket is mode 0600, "
                                     "run ctl as the bot's user") from None
        except OSError as exc:
            raise ControlUnavailable(f"cannot connect to {path}: {exc.strerror or exc}") from None
        try:
            sock.sendall(encode_request(cmd, args))
            reply = _read_line(sock)
        except TimeoutError:
            raise ControlUnavailable(f"the bot on {path} did not reply within {timeout_s:g}s") from None
        except (ConnectionResetError, BrokenPipeError):
            raise ControlUnavailable(f"the bot on {path} closed the connection without a reply") from None
    return decode_reply(reply)


def _read_line(sock: socket.socket) -> bytes:
    buffer = bytearray()
    while (end := buffer.find(b"\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise BadControlMessage("the bot closed the connection before a complete reply line")
        buffer += chunk
        if len(buffer) > MAX_REPLY_BYTES:
            raise BadControlMessage(f"reply over {MAX_REPLY_BYTES} bytes without a newline")
    return bytes(buffer[:end])
