"""How many of this process's RPC requests are on the wire, waiting for their answers.

A task waiting for a node's reply looks idle to the scheduler, yet the work it does for an event
is not done. The replay's settle check (:mod:`mevbot.replay.settle`) waits for an idle loop with
none in flight before it calls a process idle; a slow node's answer can no longer let the next
replayed event in while a module still waits for it.
"""

from __future__ import annotations

from mevbot.runtime.inflight import InFlight

#: Every RpcClient and WebSocket call connection of the process counts here.
RPC_IN_FLIGHT = InFlight()
