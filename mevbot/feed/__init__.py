"""The Arbitrum Nitro sequencer feed: codec and client (the market monitor's input).

- ``messages``: the broadcaster's wire types (attrs); ``codec``: frames <-> those types,
  ``l2Msg`` batch framing, re-exports of ``signature`` (signatureV2 digest, sign, recover).
- ``transactions``: lazily decoded signed envelopes; ``blocks``: a message as a FeedBlock.
- ``sequencing``: duplicates, gaps, reorgs (pure); ``client``: FeedClient over trio-websocket.
- ``capture``: saved frame files for ``mevbot feed decode``; ``keccak``/``addresses``: the
  hashing and EIP-55 helpers the hot path needs.
"""
