"""Hot reload: planning what changed, reloading on demand, and watching the file."""

from __future__ import annotations

import functools
import logging
import os

import attrs
import pytest
import trio
import trio.testing

from mevbot.config import (
    Config,
    ConfigError,
    ConfigReloader,
    ReloadPlan,
    ReloadResult,
    plan_reload,
)


def evolve(config: Config, section: str, **changes) -> Config:
    return attrs.evolve(config, **{section: attrs.evolve(getattr(config, section), **changes)})


class TestPlanReload:
    def test_identical_configs_change_nothing(self):
        plan = plan_reload(Config(), Config())
        assert plan == ReloadPlan({}, {}, []) and not plan.changed

    def test_reloadable_changes_are_handed_to_their_section(self):
        new = evolve(evolve(Config(), "scanner", min_profit_wei=1, min_profit_to_cost=2.0),
                     "log", level="DEBUG")
        plan = plan_reload(Config(), new)
        assert plan.changed_sections == {"log": ["level"],
                                         "scanner": ["min_profit_wei", "min_profit_to_cost"]}
        assert plan.reloadable_sections == plan.changed_sections
        assert plan.restart_required == []

    def test_non_reloadable_change_requires_a_restart(self):
        new = evolve(Config(), "store", path="elsewhere.sqlite")
        plan = plan_reload(Config(), new)
        assert plan.changed_sections == {"store": ["path"]}
        assert plan.reloadable_sections == {}
        assert plan.restart_required == ["store.path"]

    def test_section_with_any_non_reloadable_change_is_not_reloaded_live(self):
        new = evolve(Config(), "scanner", min_profit_wei=1, max_hops=2)
        plan = plan_reload(Config(), new)
        assert plan.changed_sections == {"scanner": ["max_hops", "min_profit_wei"]}
        assert "scanner" not in plan.reloadable_sections
        assert plan.restart_required == ["scanner.max_hops"]


@pytest.fixture
def config_file(write_config):
    return write_config("[scanner]\nmin_profit_wei = 100\n")


def replace_text(path, text: str) -> None:
    """Save like an editor does: write a new file, then rename it over the old one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class TestReload:
    def test_valid_file_becomes_current_with_its_plan(self, config_file):
        reloader = ConfigReloader(config_file, environ={})
        config_file.write_text("[scanner]\nmin_profit_wei = 200\n")
        result = reloader.reload()
        assert result.ok and result.error is None
        assert result.config is reloader.current
        assert reloader.current.scanner.min_profit_wei == 200
        assert result.plan.reloadable_sections == {"scanner": ["min_profit_wei"]}

    def test_invalid_file_is_rejected_and_old_config_stays(self, config_file, caplog):
        reloader = ConfigReloader(config_file, environ={})
        before = reloader.current
        config_file.write_text("[scanner]\nmin_profit_wei = 'lots'\nmax_hops = 7\n")
        with caplog.at_level(logging.ERROR, logger="mevbot.config"):
            result = reloader.reload()
        assert not result.ok and result.config is None and result.plan is None
        assert [p.path for p in result.error.problems] == ["scanner.max_hops", "scanner.min_profit_wei"]
        assert reloader.current is before
        (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "scanner.min_profit_wei = 'lots'" in record.getMessage()
        assert "scanner.max_hops = 7" in record.getMessage()

    def test_non_reloadable_change_is_reported_as_needing_restart(self, config_file, caplog):
        reloader = ConfigReloader(config_file, environ={})
        config_file.write_text("[scanner]\nmin_profit_wei = 100\n[store]\npath = 'b.sqlite'\n")
        with caplog.at_level(logging.WARNING, logger="mevbot.config"):
            result = reloader.reload()
        assert result.ok and result.plan.restart_required == ["store.path"]
        assert result.plan.reloadable_sections == {}
        assert any("store.path" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)

    def test_deleted_file_is_rejected(self, config_file):
        reloader = ConfigReloader(config_file, environ={})
        config_file.unlink()
        result = reloader.reload()
        assert not result.ok and result.error.problems[0].path == str(config_file)
        assert reloader.current.scanner.min_profit_wei == 100

    def test_environment_and_flags_are_reapplied_on_reload(self, config_file):
        reloader = ConfigReloader(config_file, environ={"MEVBOT__LOG__LEVEL": "ERROR"},
                                  overrides=["scanner.min_profit_wei=7"])
        config_file.write_text("[scanner]\nmin_profit_wei = 300\n[log]\nlevel = 'DEBUG'\n")
        result = reloader.reload()
        assert result.config.scanner.min_profit_wei == 7
        assert result.config.log.level == "ERROR"

    def test_invalid_initial_file_raises(self, write_config):
        with pytest.raises(ConfigError):
            ConfigReloader(write_config("[log]\nlevel = 1\n"), environ={})

    def test_given_current_config_is_kept_without_reading(self, config_file):
        current = Config()
        reloader = ConfigReloader(config_file, environ={}, current=current)
        assert reloader.current is current and not reloader.file_changed()


class Results:
    """Collects watch() results; ``wait_for(n)`` returns once n have arrived."""

    def __init__(self) -> None:
        self.items: list[ReloadResult] = []
        self._changed = trio.Event()

    def __call__(self, result: ReloadResult) -> None:
        self.items.append(result)
        self._changed.set()

    async def wait_for(self, count: int) -> ReloadResult:
        with trio.fail_after(30):
            while len(self.items) < count:
                self._changed = trio.Event()
                await self._changed.wait()
        return self.items[count - 1]


# The watcher is timed by trio's clock: autojump_clock makes each poll interval pass instantly
# (virtual time) while the file system under it is real.
class TestWatch:
    async def test_valid_edit_is_reloaded(self, config_file, autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            config_file.write_text("[scanner]\nmin_profit_wei = 200\n")
            result = await results.wait_for(1)
            nursery.cancel_scope.cancel()
        assert result.ok and result.plan.reloadable_sections == {"scanner": ["min_profit_wei"]}
        assert reloader.current.scanner.min_profit_wei == 200

    async def test_invalid_file_then_fixed_file(self, config_file, autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            config_file.write_text("[scanner\n")
            bad = await results.wait_for(1)
            assert not bad.ok and bad.error.problems[0].path == f"{config_file}:1"
            assert reloader.current.scanner.min_profit_wei == 100
            config_file.write_text("[scanner]\nmin_profit_wei = 300\n")
            good = await results.wait_for(2)
            nursery.cancel_scope.cancel()
        assert good.ok and reloader.current.scanner.min_profit_wei == 300

    async def test_non_reloadable_change_is_reported(self, config_file, autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            config_file.write_text("[scanner]\nmin_profit_wei = 100\nmax_hops = 2\n")
            result = await results.wait_for(1)
            nursery.cancel_scope.cancel()
        assert result.ok and result.plan.restart_required == ["scanner.max_hops"]

    async def test_atomic_rename_by_an_editor_is_caught(self, config_file, autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            replace_text(config_file, "[scanner]\nmin_profit_wei = 400\n")
            result = await results.wait_for(1)
            nursery.cancel_scope.cancel()
        assert result.ok and reloader.current.scanner.min_profit_wei == 400

    async def test_same_size_edit_with_unchanged_mtime_is_caught_by_content(self, config_file,
                                                                             autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        stat = config_file.stat()
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            with open(config_file, "r+b") as f:  # in place: same inode, same size
                f.write(b"[scanner]\nmin_profit_wei = 900\n")
            os.utime(config_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            result = await results.wait_for(1)
            nursery.cancel_scope.cancel()
        assert result.ok and reloader.current.scanner.min_profit_wei == 900

    async def test_async_callback_is_awaited(self, config_file, autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        seen = trio.Event()
        applied: list[int] = []

        async def on_result(result: ReloadResult) -> None:
            await trio.sleep(0)  # a real await inside the callback
            applied.append(result.config.scanner.min_profit_wei)
            seen.set()

        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, on_result, interval_s=0.5))
            config_file.write_text("[scanner]\nmin_profit_wei = 500\n")
            with trio.fail_after(30):
                await seen.wait()
            nursery.cancel_scope.cancel()
        assert applied == [500]

    async def test_manual_reload_is_not_repeated_by_the_watcher(self, config_file, autojump_clock):
        reloader = ConfigReloader(config_file, environ={})
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            config_file.write_text("[scanner]\nmin_profit_wei = 600\n")
            assert reloader.reload().ok  # as `mevbot ctl reload` does, before the next poll
            await trio.sleep(10)  # virtual: twenty polls of an unchanged file
            config_file.write_text("[scanner]\nmin_profit_wei = 700\n")
            result = await results.wait_for(1)
            nursery.cancel_scope.cancel()
        assert len(results.items) == 1 and result.config.scanner.min_profit_wei == 700

    async def test_without_a_file_the_watcher_only_waits(self, tmp_path, monkeypatch, autojump_clock):
        monkeypatch.chdir(tmp_path)
        reloader = ConfigReloader(None, environ={})
        assert reloader.path is None
        results = Results()
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(reloader.watch, results, interval_s=0.5))
            await trio.sleep(10)
            nursery.cancel_scope.cancel()
        assert results.items == []


async def test_watcher_waits_for_a_rewrite_in_place_to_settle(config_file, mock_clock):
    """An editor truncating then rewriting the file must not get the empty (all-defaults)
    config applied in between. The test drives the clock by hand to land a poll mid-write."""
    reloader = ConfigReloader(config_file, environ={})
    results = Results()
    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(reloader.watch, results, interval_s=1.0, settle_s=0.1))
        config_file.write_text("")  # truncated: the writer has not written the new text yet
        mock_clock.jump(1.0)  # the poll sees the change...
        await trio.testing.wait_all_tasks_blocked()
        config_file.write_text("[scanner]\nmin_profit_wei = 800\n")  # ...the write completes
        mock_clock.jump(0.1)  # settle: differs from what the poll saw, so wait again
        await trio.testing.wait_all_tasks_blocked()
        assert results.items == []
        mock_clock.jump(0.1)  # stable now
        result = await results.wait_for(1)
        nursery.cancel_scope.cancel()
    assert len(results.items) == 1 and result.config.scanner.min_profit_wei == 800
