"""Log records name the module whose task emitted them, in text and in JSON lines."""

from __future__ import annotations

import io
import json
import logging

import pytest
import trio

from mevbot.runtime.logs import configure_logging, set_level
from mevbot.runtime.manager import ModuleManager
from mevbot.runtime.module import Module
from mevbot.runtime.settings import LogSettings


class Chatty(Module):
    name = "chatty"

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        # a library logger, not the module's own: the record still names the module
        logging.getLogger("somelib").warning("from inside")
        try:
            raise ValueError("shown with its traceback")
        except ValueError:
            ctx.log.exception("caught")
        await trio.sleep_forever()


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


async def run_chatty() -> None:
    manager = ModuleManager([Chatty()])
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await manager.shutdown()
    logging.getLogger("outside").warning("no module here")


async def test_json_lines_carry_the_module_name_and_the_traceback(restore_root_logger):
    out = io.StringIO()
    configure_logging(LogSettings(level="INFO", format="json"), stream=out)
    await run_chatty()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    by_msg = {r["msg"]: r for r in records}
    assert by_msg["from inside"]["module"] == "chatty" and by_msg["from inside"]["logger"] == "somelib"
    assert "ValueError: shown with its traceback" in by_msg["caught"]["exc"]
    assert by_msg["no module here"]["module"] == "-"
    assert by_msg["module chatty ready"]["level"] == "INFO"


async def test_text_lines_carry_the_module_name_and_respect_the_level(restore_root_logger):
    out = io.StringIO()
    configure_logging(LogSettings(level="WARNING", format="text"), stream=out)
    await run_chatty()
    text = out.getvalue()
    assert "WARNING [chatty] somelib: from inside" in text
    assert "module chatty ready" not in text  # INFO is below the level


class Handler(Module):
    """Logs once per message it takes from the bus."""

    name = "handler"

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        with ctx.bus.subscribe("work.#") as sub:
            task_status.started()
            async for env in sub:
                logging.getLogger("somelib").warning("handling %s", env.payload)


async def test_log_lines_written_while_handling_a_message_carry_its_trace_id(restore_root_logger):
    from mevbot.bus.bus import Bus
    from tests.bus.messages import Tick

    out = io.StringIO()
    configure_logging(LogSettings(level="INFO", format="json"), stream=out)
    bus = Bus()
    manager = ModuleManager([Handler()], bus=bus)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await bus.publish("work.a", Tick(1), trace_id=0xABC)
        await bus.publish("work.b", Tick(2), trace_id=0xDEF)
        with trio.fail_after(10):
            while out.getvalue().count("handling") < 2:
                await trio.sleep(0.01)  # polling the handler's real output, with a deadline
        await manager.shutdown()
    records = {r["msg"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert records["handling Tick(seq=1, note='')"]["trace"] == f"{0xABC:032x}"
    assert records["handling Tick(seq=2, note='')"]["trace"] == f"{0xDEF:032x}"
    assert records["handling Tick(seq=1, note='')"]["module"] == "handler"
    assert records["module handler ready"]["trace"] == "-"

    text = io.StringIO()
    configure_logging(LogSettings(level="INFO", format="text"), stream=text)
    from mevbot.bus.envelope import current_trace

    current_trace.set(0xABC)
    logging.getLogger("somelib").warning("traced")
    current_trace.set(0)
    assert "WARNING [- trace=abc] somelib: traced" in text.getvalue()


def test_per_request_info_lines_of_the_http_library_are_kept_out_unless_debugging(restore_root_logger):
    out = io.StringIO()
    configure_logging(LogSettings(level="INFO", format="text"), stream=out)
    logging.getLogger("httpx").info('HTTP Request: POST http://127.0.0.1:8547 "HTTP/1.1 200 OK"')
    logging.getLogger("httpx").warning("httpx warns")
    logging.getLogger("mevbot.rpc").info("our own info line")
    set_level("DEBUG")
    logging.getLogger("httpx").debug("httpx debug while debugging")
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # as before this test
    text = out.getvalue()
    assert "HTTP Request" not in text
    assert "httpx warns" in text and "our own info line" in text and "httpx debug while debugging" in text
