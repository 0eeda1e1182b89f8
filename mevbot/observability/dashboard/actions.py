"""The dashboard's buttons: parse an action message, check its token, run it as a ctl command.

An action is one WebSocket text message ``{"action": "pause", "module": "scanner", "token": "..."}``.
It runs through :meth:`mevbot.control.server.ControlServer.answer` with the very request
`mevbot ctl pause scanner` sends, so the dashboard and ctl share one implementation (the same
refusals: unknown module, emergency stop active, the same deadline) and the reply has the ctl shape.

The token is the only thing between a local web page and the bot's modules, so it is compared in
constant time, and an empty ``[observability] dashboard_token`` disables actions rather than
accepting any token.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import attrs

from mevbot.control.protocol import encode_request
from mevbot.observability.dashboard.errors import ActionRefused, BadDashboardMessage

log = logging.getLogger("mevbot.observability.dashboard")

#: Dashboard action -> control command; only module lifecycle, nothing that edits config.
ACTIONS = {"pause": "pause", "resume": "resume"}
MAX_MESSAGE_BYTES = 4096


@attrs.frozen
class DashboardAction:
    action: str
    module: str
    token: str = attrs.field(repr=False)  # never in a log line
    request_id: str | int | None = None


def parse_action(text: str | bytes) -> DashboardAction:
    """One client message as an action; raises :class:`BadDashboardMessage` saying what is wrong."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise BadDashboardMessage(f"message of {len(text)} bytes; expected at most {MAX_MESSAGE_BYTES}")
    try:
        message = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadDashboardMessage(f"message is not JSON ({exc}); expected "
                                  '{"action": "pause", "module": "<name>", "token": "<token>"}') from None
    if not isinstance(message, dict):
        raise BadDashboardMessage(f"message is a JSON {type(message).__name__}; expected an object with \"action\"")
    action, module, token = message.get("action"), message.get("module"), message.get("token", "")
    if action not in ACTIONS:
        raise BadDashboardMessage(f'"action" is {action!r}; expected one of {", ".join(sorted(ACTIONS))}')
    if not isinstance(module, str) or not module:
        raise BadDashboardMessage(f'"module" is {module!r}; expected a module name')
    if not isinstance(token, str):
        raise BadDashboardMessage(f'"token" is a JSON {type(token).__name__}; expected a string')
    request_id = message.get("id")
    if request_id is not None and not isinstance(request_id, (str, int)):
        raise BadDashboardMessage(f'"id" is {request_id!r}; expected a string or an integer')
    return DashboardAction(action, module, token, request_id)


def check_token(given: str, expected: str) -> None:
    """Raise :class:`ActionRefused` unless ``given`` equals the configured token (constant time)."""
    if not expected:
        raise ActionRefused("actions are disabled: [observability] dashboard_token is not set")
    if not given:
        raise ActionRefused("action refused: no token (open the dashboard as /#token=<dashboard_token>)")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ActionRefused("action refused: wrong token")


async def perform(control: Any, action: DashboardAction, expected_token: str) -> dict[str, Any]:
    """Check the token and run ``action`` as its control command; the reply in the ctl shape.

    ``control`` is the bot's :class:`~mevbot.control.server.ControlServer`.
    """
    check_token(action.token, expected_token)
    reply = await control.answer(encode_request(ACTIONS[action.action], {"module": action.module}))
    log.info("dashboard %s %s: %s", action.action, action.module,
             "ok" if reply.get("ok") else reply.get("error", "refused"))
    return reply
