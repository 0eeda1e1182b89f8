"""Headless Debian Chromium driven over the DevTools protocol, for the dashboard's browser test.

No Playwright/npm: Chromium's own ``--remote-debugging-port`` speaks JSON over a WebSocket and
trio-websocket is already a dependency. :func:`open_chromium` starts the browser on a free port
(read from the ``DevToolsActivePort`` file it writes into its profile folder), connects to its
first page and yields a :class:`CdpPage`; the browser is killed on exit.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import trio
from trio_websocket import open_websocket_url

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_S = 20.0
POLL_S = 0.05
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--mute-audio", "--window-size=1400,1400", "--remote-debugging-port=0")


class CdpError(Exception):
    """A DevTools call that failed, or a page script that threw."""


class CdpPage:
    """One page target: call DevTools methods, evaluate JavaScript, wait for a condition."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._next_id = 0
        self.exceptions: list[str] = []  # uncaught page script errors (Runtime.exceptionThrown)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        await self.ws.send_message(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.get_message())
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                self.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
            if message.get("id") == call_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            thrown = result["exceptionDetails"].get("exception", {}).get("description")
            raise CdpError(f"{expression!r} threw: {thrown}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, *, timeout_s: float = 15.0) -> Any:
        """Poll ``expression`` until it is truthy (its value) or fail after ``timeout_s``."""
        last = None
        with trio.move_on_after(timeout_s):
            while True:
                last = await self.evaluate(expression)
                if last:
                    return last
                await trio.sleep(POLL_S)  # polling the page's real DOM, bounded by the deadline
        raise AssertionError(f"page never satisfied {expression!r} within {timeout_s}s (last value {last!r})")

    async def navigate(self, url: str) -> None:
        """Open ``url`` and wait until its document has loaded (Page.navigate returns before)."""
        result = await self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise CdpError(f"navigating to {url}: {result['errorText']}")
        await self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    async def screenshot(self, path: Path) -> Path:
        result = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(result["data"]))
        return path


async def _devtools_port(profile: Path, process: subprocess.Popen[bytes], log_path: Path) -> int:
    active = profile / "DevToolsActivePort"
    with trio.move_on_after(START_TIMEOUT_S):
        while True:
            try:
                return int(active.read_text().splitlines()[0])
            except (FileNotFoundError, IndexError, ValueError):
                pass
            if process.poll() is not None:
                break
            await trio.sleep(POLL_S)  # polling the browser's real ready marker, with a deadline
    raise AssertionError(f"chromium did not open its DevTools port; its log {log_path}:\n"
                         f"{log_path.read_text(errors='replace')[-3000:]}")


@asynccontextmanager
async def open_chromium(workdir: Path) -> AsyncIterator[CdpPage]:
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "chromium.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "HOME": str(workdir)},
                                   start_new_session=True)  # its own group: its helpers go with it
    try:
        port = await _devtools_port(profile, process, log_path)
        async with httpx.AsyncClient(timeout=10) as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with open_websocket_url(page_url, max_message_size=64 * 1024 * 1024) as ws:
            page = CdpPage(ws)
            await page.call("Runtime.enable")
            yield page
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the browser and its zygote/renderer/GPU helpers
        except ProcessLookupError:
            pass
        await trio.to_thread.run_sync(process.wait)
