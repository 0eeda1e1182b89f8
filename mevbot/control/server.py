"""The control server: a local Unix socket answering newline-delimited JSON commands.

Commands are registered by whoever owns them (:meth:`ControlServer.register`), so the runtime,
the bus and later the risk manager each add their own. The socket is created with mode 0600 in
a folder created on demand. A socket file left by a dead process is replaced; a live bot already
listening there is a :class:`ControlSocketInUse` error, so two bots never share one socket.

Bad input never stops the server: a malformed, oversize or unknown request, a handler that
raises or overruns its deadline, each gets an ``ok: false`` reply and one log line.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from mevbot.control.errors import (BadControlMessage, CommandFailed, ControlSocketInUse,
                                   ControlSocketPathError)
from mevbot.control.protocol import MAX_MESSAGE_BYTES, decode_request, encode_reply

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

log = logging.getLogger("mevbot.control")

#: sun_path holds 108 bytes including the terminating NUL on Linux.
_MAX_SOCKET_PATH_BYTES = 107


async def _is_live(path: Path) -> bool:
    try:
        stream = await trio.open_unix_socket(str(path))
    except OSError:
        return False
    await stream.aclose()
    return True


async def bind_control_socket(path: Path, *, backlog: int = 16) -> trio.socket.SocketType:
    """A listening Unix socket at ``path`` with mode 0600, replacing a stale socket file."""
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH_BYTES:
        raise ControlSocketPathError(f"control socket path {str(path)!r} is {len(os.fsencode(path))} bytes; "
                                     f"expected at most {_MAX_SOCKET_PATH_BYTES} (set [control] socket_path)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ControlSocketPathError(f"cannot create the folder of the control socket {str(path)!r}: "
                                     f"{exc.strerror}") from None
    try:
        existing = path.lstat()
    except FileNotFoundError:
        existing = None
    if existing is not None:
        if not stat.S_ISSOCK(existing.st_mode):
            raise ControlSocketPathError(f"{str(path)!r} exists and is not a socket; expected a free path "
                                         "for the control socket")
        if await _is_live(path):
            raise ControlSocketInUse(f"another bot is already listening on {str(path)!r}; stop it first "
                                     "(`mevbot ctl --socket ... status` shows it) or use another "
                                     "[control] socket_path")
        log.info("replacing the stale control socket %s left by a process that is gone", path)
        path.unlink(missing_ok=True)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.bind(str(path))
        # Nobody can connect before listen(), so tightening the mode here leaves no window.
        os.chmod(path, 0o600)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ControlSocketInUse(f"another process took {str(path)!r} while this bot was starting") from None
        raise ControlSocketPathError(f"cannot listen on {str(path)!r}: {exc.strerror}") from None
    return sock


class ControlServer:
    """Serves registered commands on a Unix socket; see the module docstring."""

    def __init__(self, socket_path: str | os.PathLike[str], *,
                 request_timeout_s: float | Callable[[], float] = 5.0,
                 max_request_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.socket_path = Path(socket_path)
        # A callable lets a hot reload change the deadline of the next request.
        self._timeout = request_timeout_s if callable(request_timeout_s) else (lambda: request_timeout_s)
        self.max_request_bytes = max_request_bytes
        self._handlers: dict[str, Handler] = {}

    def register(self, cmd: str, handler: Handler, *, replace: bool = False) -> None:
        """Answer ``cmd`` with ``handler(args)``; its dict is merged into ``{"ok": true}``.

        A handler refuses a request by raising :class:`CommandFailed`; any other exception is
        logged with its traceback and replied as an error. ``replace=True`` takes over a command
        registered earlier (the risk manager takes ``emergency-stop`` from the runtime's stand-in).
        """
        if cmd in self._handlers and not replace:
            raise ValueError(f"control command {cmd!r} is already registered (pass replace=True to take it over)")
        self._handlers[cmd] = handler

    @property
    def commands(self) -> list[str]:
        return sorted(self._handlers)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Bind the socket, serve until cancelled, then remove the socket file if it is still ours."""
        await self.serve(await self.bind(), task_status=task_status)

    async def bind(self) -> trio.socket.SocketType:
        """Claim the socket path (raises :class:`ControlSocketInUse` if a live bot has it).

        Separate from :meth:`serve` so a caller can fail before opening its nursery, with the
        plain error rather than an exception group.
        """
        return await bind_control_socket(self.socket_path)

    async def serve(self, sock: trio.socket.SocketType, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Serve on a socket from :meth:`bind` until cancelled; then remove the socket file."""
        inode = os.stat(self.socket_path).st_ino
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(trio.serve_listeners, self._serve_connection, [trio.SocketListener(sock)])
                log.info("control socket listening on %s", self.socket_path)
                task_status.started(self)
        finally:
            try:
                if os.stat(self.socket_path).st_ino == inode:
                    self.socket_path.unlink()
            except FileNotFoundError:
                pass

    async def answer(self, line: bytes) -> dict[str, Any]:
        """The reply to one request line (never raises for bad input)."""
        try:
            request = decode_request(line)
        except BadControlMessage as exc:
            log.warning("bad control request: %s", exc)
            return {"ok": False, "error": str(exc)}
        handler = self._handlers.get(request.cmd)
        if handler is None:
            log.warning("unknown control command %r", request.cmd)
            return {"ok": False, "error": f"unknown command {request.cmd!r}; expected one of: "
                                          f"{', '.join(self.commands)}"}
        timeout_s = self._timeout()
        with trio.move_on_after(timeout_s):
            try:
                result = await handler(request.args)
            except CommandFailed as exc:
                log.info("control command %s refused: %s", request.cmd, exc)
                return {"ok": False, "error": str(exc), **exc.details}
            except Exception as exc:
                log.error("control command %s failed", request.cmd, exc_info=exc)
                return {"ok": False, "error": f"{request.cmd} failed: {type(exc).__name__}: {exc}"}
            reply: dict[str, Any] = {"ok": True}
            reply.update(result or {})
            return reply
        log.warning("control command %s overran its %gs deadline", request.cmd, timeout_s)
        return {"ok": False, "error": f"{request.cmd} did not finish within {timeout_s:g}s "
                                      "([control] request_timeout_s)"}

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        try:
            async with stream:
                await self._converse(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away mid-reply; nothing to answer
        except Exception:
            log.exception("control connection failed; the server keeps serving")

    async def _converse(self, stream: trio.SocketStream) -> None:
        buffer = bytearray()
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end])
                del buffer[:end + 1]
                if line.strip():
                    await stream.send_all(encode_reply(await self.answer(line)))
            if len(buffer) > self.max_request_bytes:
                log.warning("control request over %d bytes without a newline; closing that connection",
                            self.max_request_bytes)
                await stream.send_all(encode_reply({
                    "ok": False, "error": f"request over {self.max_request_bytes} bytes; expected one "
                                          "JSON object per line"}))
                return
