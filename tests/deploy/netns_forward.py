"""Forward loopback ports of a test's network namespace to the root namespace's loopback.

Run: python -m tests.deploy.netns_forward NETNS PORT [PORT ...]. The devnet (anvil, the feed
relay) listens on the root namespace's 127.0.0.1, which a namespace cannot reach; this process
creates its listening sockets *inside* NETNS (from a thread that joined it with setns(2): a
socket stays in the namespace it was made in) and connects to the same port on the root
namespace's loopback for every connection, so bot processes in the namespace use the devnet's
URLs unchanged. No address outside loopback is involved. Prints ``ready`` once listening.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
import threading

import trio

CLONE_NEWNET = 0x40000000


def listeners_in(netns: str, ports: list[int]) -> list[socket.socket]:
    made: list[socket.socket] = []
    failure: list[BaseException] = []

    def inside() -> None:
        try:
            fd = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({netns}) failed")
            finally:
                os.close(fd)
            for port in ports:
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(64)
                made.append(sock)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)

    thread = threading.Thread(target=inside)  # only this thread joins the namespace
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return made


async def pipe(source: trio.SocketStream, sink: trio.SocketStream) -> None:
    try:
        async for chunk in source:
            await sink.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        with trio.CancelScope(shield=True):
            await sink.aclose()


async def main(netns: str, ports: list[int]) -> None:
    listeners = [trio.SocketListener(trio.socket.from_stdlib_socket(s)) for s in listeners_in(netns, ports)]

    def handler_for(port: int):
        async def handle(inbound: trio.SocketStream) -> None:
            try:
                outbound = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await inbound.aclose()
                return
            async with trio.open_nursery() as nursery:
                nursery.start_soon(pipe, inbound, outbound)
                nursery.start_soon(pipe, outbound, inbound)
        return handle

    async with trio.open_nursery() as nursery:
        for port, listener in zip(ports, listeners):
            await nursery.start(trio.serve_listeners, handler_for(port), [listener])
        print("ready", flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], [int(p) for p in sys.argv[2:]])
