"""Talking to Arbitrum nodes over JSON-RPC.

- :mod:`~mevbot.rpc.client` — :class:`RpcClient`: several HTTP endpoints with failover, batch
  calls and the typed methods the bot uses (``block_number``, ``eth_call``, ``get_logs`` ...).
- :mod:`~mevbot.rpc.endpoint`, :mod:`~mevbot.rpc.health`, :mod:`~mevbot.rpc.ratelimit` — one
  endpoint's token bucket and health score, and the order endpoints are tried in.
- :mod:`~mevbot.rpc.jsonrpc`, :mod:`~mevbot.rpc.chaindata` — framing and reading of answers
  (pure): ``BlockHead``, ``LogEntry``, ``BlockLogs``.
- :mod:`~mevbot.rpc.subscriptions` — ``eth_subscribe`` over WebSocket, reconnecting.
- :mod:`~mevbot.rpc.blocks` — :class:`BlockMonitor`: every block in order, with the watched
  pools' logs (``chain.head``, ``market.pool.logs``).
- :mod:`~mevbot.rpc.errors` — ``RpcTimeout``, ``RateLimited``, ``NodeError``,
  ``EndpointUnavailable``, ``AllEndpointsFailed``, ``BadResponse``, ``SubscriptionError``.
"""
