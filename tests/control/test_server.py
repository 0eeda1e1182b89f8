"""The control server on a real Unix socket: protocol, bad input, permissions, stale sockets."""

from __future__ import annotations

import json
import os
import socket
import stat
import tempfile
from pathlib import Path

import pytest
import trio

from mevbot.control.client import send_command
from mevbot.control.errors import (CommandFailed, ControlSocketInUse, ControlSocketPathError,
                                   ControlUnavailable)
from mevbot.control.protocol import MAX_MESSAGE_BYTES
from mevbot.control.server import ControlServer


@pytest.fixture
def sock_dir():
    # tmp_path can exceed the 107-byte limit of a Unix socket path; /tmp names stay short.
    with tempfile.TemporaryDirectory(prefix="mbctl") as name:
        yield Path(name)


async def echo(args):
    return {"echo": args}


async def refuse(args):
    raise CommandFailed("not today", problems=["a", "b"])


async def explode(args):
    raise RuntimeError("handler bug")


async def hang(args):
    await trio.sleep_forever()


async def start_server(nursery, path: Path, **kwargs) -> ControlServer:
    server = ControlServer(path, **kwargs)
    for name, handler in [("echo", echo), ("refuse", refuse), ("explode", explode), ("hang", hang)]:
        server.register(name, handler)
    await nursery.start(server.run)
    return server


async def converse(path: Path, *lines: bytes) -> list[dict]:
    stream = await trio.open_unix_socket(str(path))
    async with stream:
        replies = []
        buffer = b""
        for line in lines:
            await stream.send_all(line)
            while b"\n" not in buffer:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return replies
                buffer += chunk
            reply, _, buffer = buffer.partition(b"\n")
            replies.append(json.loads(reply))
        return replies


async def test_registered_command_replies_ok_with_its_result_over_the_client(sock_dir):
    path = sock_dir / "run" / "bot.sock"
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path)
        reply = await trio.to_thread.run_sync(lambda: send_command(path, "echo", {"x": 1}))
        assert reply == {"ok": True, "echo": {"x": 1}}
        nursery.cancel_scope.cancel()


async def test_socket_is_mode_0600_in_a_created_folder_and_removed_on_exit(sock_dir):
    path = sock_dir / "made" / "bot.sock"
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path)
        mode = path.stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        nursery.cancel_scope.cancel()
    assert not path.exists()


async def test_bad_requests_get_error_replies_and_the_server_keeps_serving(sock_dir):
    path = sock_dir / "bot.sock"
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path)
        replies = await converse(path, b"not json\n", b"[1,2]\n", b'{"cmd": 5}\n',
                                 b'{"cmd": "echo", "args": []}\n', b'{"cmd": "nope"}\n',
                                 b'{"cmd": "refuse"}\n', b'{"cmd": "explode"}\n',
                                 b'{"cmd": "echo", "args": {"still": "here"}}\n')
        assert [r["ok"] for r in replies] == [False] * 7 + [True]
        assert "not valid JSON" in replies[0]["error"]
        assert "expected an object" in replies[1]["error"]
        assert "non-empty string" in replies[2]["error"]
        assert '"args"' in replies[3]["error"]
        assert replies[4]["error"].startswith("unknown command 'nope'") and "echo" in replies[4]["error"]
        assert replies[5] == {"ok": False, "error": "not today", "problems": ["a", "b"]}
        assert "RuntimeError: handler bug" in replies[6]["error"]
        nursery.cancel_scope.cancel()


async def test_oversize_request_is_refused_and_the_server_keeps_serving(sock_dir):
    path = sock_dir / "bot.sock"
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path)
        [reply] = await converse(path, b"x" * (MAX_MESSAGE_BYTES + 70_000))
        assert not reply["ok"] and "over" in reply["error"]
        [reply] = await converse(path, b'{"cmd": "echo"}\n')
        assert reply == {"ok": True, "echo": {}}
        nursery.cancel_scope.cancel()


async def test_a_request_past_its_deadline_gets_an_error_reply(sock_dir, autojump_clock):
    path = sock_dir / "bot.sock"
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path, request_timeout_s=2.0)
        [reply] = await converse(path, b'{"cmd": "hang"}\n')
        assert reply == {"ok": False, "error": "hang did not finish within 2s ([control] request_timeout_s)"}
        nursery.cancel_scope.cancel()


async def test_stale_socket_file_is_replaced(sock_dir):
    path = sock_dir / "bot.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # bound, never listening, then closed: what a killed bot leaves
    dead.close()
    assert path.exists()
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path)
        reply = await trio.to_thread.run_sync(lambda: send_command(path, "echo"))
        assert reply["ok"]
        nursery.cancel_scope.cancel()


async def test_a_live_bot_on_the_socket_is_a_clear_error_and_keeps_its_socket(sock_dir):
    path = sock_dir / "bot.sock"
    async with trio.open_nursery() as nursery:
        await start_server(nursery, path)
        with pytest.raises(ControlSocketInUse, match="already listening"):
            await ControlServer(path).run()
        reply = await trio.to_thread.run_sync(lambda: send_command(path, "echo"))
        assert reply["ok"]
        nursery.cancel_scope.cancel()


async def test_a_regular_file_at_the_socket_path_is_not_removed(sock_dir):
    path = sock_dir / "bot.sock"
    path.write_text("precious")
    with pytest.raises(ControlSocketPathError, match="not a socket"):
        await ControlServer(path).run()
    assert path.read_text() == "precious"


def test_client_with_no_bot_says_so(sock_dir):
    with pytest.raises(ControlUnavailable, match="no bot is listening"):
        send_command(sock_dir / "absent.sock", "status")


def test_too_long_socket_path_is_a_clear_error(sock_dir):
    path = sock_dir / ("d" * 120) / "bot.sock"
    with pytest.raises(ControlSocketPathError, match="expected at most 107"):
        trio.run(ControlServer(path).run)
    assert not os.path.exists(path.parent)


async def test_a_command_is_registered_once_unless_explicitly_replaced():
    server = ControlServer("unused.sock")
    server.register("echo", echo)
    with pytest.raises(ValueError, match="already registered"):
        server.register("echo", refuse)
    server.register("echo", refuse, replace=True)
    assert (await server.answer(b'{"cmd": "echo"}'))["error"] == "not today"
