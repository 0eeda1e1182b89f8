"""Hot reload: re-read the config, validate it, and say what changed and what needs a restart.

A valid new config becomes current and comes with a :class:`ReloadPlan`; the module manager
hands each section whose changes are all reloadable to its module, and reports the
``restart_required`` keys. An invalid file is rejected: its problems are logged once, and the
running config stays in force. The same :meth:`ConfigReloader.reload` serves the file watcher
and ``mevbot ctl reload``.

The watcher polls rather than using inotify: polling also sees a file replaced by an atomic
rename (how most editors save), works on every filesystem, and costs one ``stat`` plus one small
read per interval. Each poll compares inode, mtime, size and a content hash, so a change within
the filesystem's mtime resolution is caught too.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import pathlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from mevbot.config.errors import ConfigError
from mevbot.config.fields import is_reloadable
from mevbot.config.keys import fields_of
from mevbot.config.loader import build_config, read_config_bytes, resolve_config_path
from mevbot.config.schema import Config

log = logging.getLogger("mevbot.config")

Fingerprint = tuple[Any, ...]


@attrs.frozen
class ReloadPlan:
    """What differs between two valid configs.

    ``changed_sections`` maps each section with a change to its changed keys;
    ``reloadable_sections`` holds the sections all of whose changed keys are reloadable (to be
    handed to their module live); ``restart_required`` lists the full paths of changed keys
    that are not reloadable (a section with any of them is not in ``reloadable_sections``).
    """

    changed_sections: dict[str, list[str]] = attrs.field(factory=dict)
    reloadable_sections: dict[str, list[str]] = attrs.field(factory=dict)
    restart_required: list[str] = attrs.field(factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changed_sections)


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    changed: dict[str, list[str]] = {}
    reloadable: dict[str, list[str]] = {}
    restart: list[str] = []
    for section in fields_of(Config):
        old_section, new_section = getattr(old, section.name), getattr(new, section.name)
        if old_section == new_section:
            continue
        keys = [f for f in fields_of(type(new_section))
                if getattr(old_section, f.name) != getattr(new_section, f.name)]
        changed[section.name] = [f.name for f in keys]
        fixed = [f.name for f in keys if not is_reloadable(f)]
        if fixed:
            restart += [f"{section.name}.{name}" for name in fixed]
        else:
            reloadable[section.name] = [f.name for f in keys]
    return ReloadPlan(changed, reloadable, restart)


@attrs.frozen
class ReloadResult:
    ok: bool
    config: Config | None = None  # the new current config when ok
    plan: ReloadPlan | None = None
    error: ConfigError | None = None  # why the file was rejected when not ok


def _snapshot(path: pathlib.Path) -> tuple[Fingerprint, bytes | None]:
    """The file's identity and bytes, read from one open file so that they agree."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read()
    except OSError as exc:
        return ("unreadable", type(exc).__name__), None
    return (st.st_ino, st.st_mtime_ns, st.st_size, hashlib.sha256(raw).digest()), raw


class ConfigReloader:
    """Holds the current config and where it came from; re-reads it on demand or on change.

    ``environ=None`` reads ``os.environ`` at each reload. If ``current`` is not given, the
    config is loaded now (raising :class:`ConfigError` if invalid). With no config file (none
    named and no ./config.toml) there is nothing to watch, and :meth:`watch` only waits.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 environ: Mapping[str, str] | None = None, overrides: Sequence[str] = (),
                 current: Config | None = None) -> None:
        self.environ = environ
        self.overrides = tuple(overrides)
        self.path = resolve_config_path(path, environ=self._environ())
        self._fingerprint: Fingerprint | None = None
        if current is None:
            result = self._load()
            if isinstance(result, ConfigError):
                raise result
            current = result
        elif self.path is not None:
            self._fingerprint = _snapshot(self.path)[0]
        self.current: Config = current

    def _environ(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    def _load(self) -> Config | ConfigError:
        raw: bytes | None = None
        try:
            if self.path is not None:
                self._fingerprint, raw = _snapshot(self.path)
                if raw is None:
                    raw = read_config_bytes(self.path)  # raises the reason it is unreadable
            return build_config(raw, self.path, environ=self._environ(), overrides=self.overrides)
        except ConfigError as err:
            return err

    def reload(self) -> ReloadResult:
        """Re-read and validate; on success the new config becomes current."""
        loaded = self._load()
        if isinstance(loaded, ConfigError):
            log.error("config %s rejected, keeping the running config: %s",
                      self.path, loaded.one_line())
            return ReloadResult(ok=False, error=loaded)
        plan = plan_reload(self.current, loaded)
        self.current = loaded
        if plan.changed:
            log.info("config reloaded from %s; changed: %s", self.path,
                     ", ".join(f"{s}.{k}" for s, keys in plan.changed_sections.items() for k in keys))
        else:
            log.debug("config reloaded from %s; nothing changed", self.path)
        if plan.restart_required:
            log.warning("config keys changed that apply only after a restart: %s",
                        ", ".join(plan.restart_required))
        return ReloadResult(ok=True, config=loaded, plan=plan)

    def file_changed(self) -> bool:
        """Whether the file differs from the one last read (content, identity or mtime)."""
        if self.path is None:
            return False
        return _snapshot(self.path)[0] != self._fingerprint

    async def watch(self, on_result: Callable[[ReloadResult], Awaitable[None] | None], *,
                    interval_s: float, settle_s: float | None = None,
                    task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Poll the file every ``interval_s``; on a change, reload and pass the result to
        ``on_result`` (which may be async). Runs until cancelled.

        A change is acted on only once the file has stayed the same for ``settle_s`` (default:
        a quarter of the interval, at most 0.25 s). An editor that truncates and rewrites in
        place can otherwise be caught between the two, and an empty file is a *valid* config
        (all defaults): reloading it would briefly put every default, risk limits included,
        in force.
        """
        settle = min(interval_s / 4, 0.25) if settle_s is None else settle_s
        task_status.started()
        if self.path is None:
            await trio.sleep_forever()
        while True:
            await trio.sleep(interval_s)
            seen = _snapshot(self.path)[0]
            if seen == self._fingerprint:
                continue
            while True:  # wait until the writer is done
                await trio.sleep(settle)
                now = _snapshot(self.path)[0]
                if now == seen:
                    break
                seen = now
            outcome = on_result(self.reload())
            if inspect.isawaitable(outcome):
                await outcome
