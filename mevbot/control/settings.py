"""Settings of the local control socket ([control])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class ControlSettings:
    socket_path: str = setting("run/mevbot.sock", doc="Unix socket of `mevbot ctl` (mode 0600).")
    request_timeout_s: float = setting(5.0, gt=0, doc="Deadline for one control request.", reloadable=True)
