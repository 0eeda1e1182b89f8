"""Settings of the message bus ([bus]) and of the placement of modules ([deploy])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting

OVERFLOW_POLICIES = ("block", "drop-oldest", "dead-letter")


@attrs.frozen
class BusSettings:
    queue_size: int = setting(10_000, doc="Default bound of every subscription queue.", gt=0)
    overflow: str = setting("block", doc="Default overflow policy of a subscription: 'block' "
                            "(backpressure), 'drop-oldest' or 'dead-letter'.", choices=OVERFLOW_POLICIES)
    max_frame_bytes: int = setting(4 * 1024 * 1024, doc="Largest frame a transport accepts.", gt=0)
    critical_topics: list[str] = setting(factory=lambda: ["exec.request", "exec.result"],
                                         doc="Topics persisted in SQLite and delivered at least once.")
    persist_path: str = setting("run/bus.sqlite", doc="SQLite file of the critical-topic journal "
                                "(one per process: '{process}' in the path is replaced by its name).")
    dlq_size: int = setting(10_000, doc="Dead letters kept (oldest evicted first); with a journal "
                            "(persist_path) they are kept there too and survive a restart.", gt=0)
    link_buffer: int = setting(100_000, doc="Messages buffered per peer process while its link is "
                               "down; beyond that they are dead-lettered (critical ones stay journalled).", gt=0)
    message_ttl_s: float = setting(30.0, doc="A non-critical message still buffered for a peer after "
                                   "this long is dead-lettered as expired.", gt=0, reloadable=True)
    large_message_bytes: int = setting(64 * 1024, doc="Frames above this size take the bulk lane "
                                       "(a second connection) so they never delay small messages.", gt=0)
    failover_depth: int = setting(20_000, doc="When a peer's fast lane has more queued frames than "
                                  "this, new frames fail over to its bulk lane.", gt=0, reloadable=True)
    max_batch_bytes: int = setting(256 * 1024, doc="Upper bound of one coalesced write.", gt=0)
    reconnect_backoff_s: float = setting(0.05, doc="First delay before redialling a lost peer; "
                                         "doubles per failure.", gt=0, reloadable=True)
    reconnect_backoff_max_s: float = setting(2.0, doc="Upper bound of the redial delay.", gt=0,
                                             reloadable=True)
    request_timeout_s: float = setting(5.0, doc="Default deadline of a bus request.", gt=0,
                                       reloadable=True)


@attrs.frozen
class HostSettings:
    address: str = setting("127.0.0.1", doc="Address other hosts reach this host at.")


@attrs.frozen
class ProcessSettings:
    host: str = setting("local", doc="Key of [deploy.hosts.<name>] this process runs on.")
    modules: list[str] = setting(factory=list, doc="Modules this process runs.")
    unix: str = setting("", doc="Unix socket path for peers on the same host "
                        "('' = run/bus-<process>.sock).")
    tcp: str = setting("", doc="host:port for peers on other hosts ('' = no TCP listener; "
                       "port 0 is not allowed here since peers must know it).")
    overrides: list[str] = setting(factory=list, doc="Config overrides of this process only, as "
                                   "'section.key=value' (like --set; the command line still wins), "
                                   "e.g. [\"scanner.shard=0/2\"].")


@attrs.frozen
class DeploySettings:
    """Placement of modules on processes and hosts. No processes = everything in one process."""

    process: str = setting("main", doc="The name of this process (set per process, e.g. "
                           "`--set deploy.process=hot`).")
    hosts: dict[str, HostSettings] = setting(factory=lambda: {"local": HostSettings()},
                                             doc="Hosts by name.")
    processes: dict[str, ProcessSettings] = setting(factory=dict, doc="Processes by name.")
    secret: str = setting("", secret=True, doc="Shared secret of the TCP handshake "
                          "(>= 16 bytes; required when any process listens on TCP).")
    tls_cert: str = setting("", doc="PEM certificate of this process's TCP listener ('' = no TLS).")
    tls_key: str = setting("", doc="PEM private key of tls_cert.")
    tls_ca: str = setting("", doc="PEM CA bundle that verifies peers' certificates when TLS is on.")
    websocket: str = setting("", doc="host:port of the monitoring websocket ('' = off).")
    websocket_token: str = setting("", secret=True, doc="Token a monitoring client must present "
                                   "(header 'Authorization: Bearer <token>', or '?token=' in the URL); "
                                   "required when websocket is not on a loopback address.")
    peer_timeout_s: float = setting(30.0, doc="`run --process`: how long every peer process may take "
                                    "to connect at start-up before this one exits naming it.", gt=0)
    restart_backoff_s: float = setting(0.5, doc="`mevbot up`: first delay before restarting a "
                                       "process that died; doubles per quick death.", gt=0)
    restart_backoff_max_s: float = setting(30.0, doc="`mevbot up`: upper bound of the restart delay.",
                                           gt=0)
    stable_after_s: float = setting(30.0, doc="`mevbot up`: a process up this long is healthy again "
                                    "(its next restart waits restart_backoff_s).", gt=0)

    def config_problems(self):
        """Cross-key rule: a monitoring websocket beyond loopback needs websocket_token."""
        from mevbot.bus.router import websocket_problems

        if websocket_problems(self):
            yield ("websocket_token", "", f"a token, because websocket = {self.websocket!r} listens "
                   "beyond loopback (anyone who reaches it could read the bus)")
