"""The event parser: pending transactions and logs in, ``market.swap.intent`` and
``market.pool.update`` out. Pure decoding, no I/O.

- ``messages``: SwapIntent / SwapHop / FeedPosition / PoolUpdate (attrs, bus-agnostic).
- ``calldata``: router calldata -> swap intents (V2 Router02 + forks, V3 SwapRouter,
  SwapRouter02, Universal Router); ``CalldataParser`` never raises and counts what it skips.
- ``abi_reader``: the strict, fast ABI reader calldata decoding runs on.
- ``logs``: V2/V3 pool and factory events -> pool updates; ``LogParser``.
- ``pool_address``: CREATE2 addresses of V2 pairs and V3 pools.
- ``build``: ``EventParser.from_manifest`` assembles registry and parsers for the module.
"""
