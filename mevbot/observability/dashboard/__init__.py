"""The live dashboard: one page served by the bot, updated over a WebSocket (see server.py)."""

from mevbot.observability.dashboard.server import serve_dashboard

__all__ = ["serve_dashboard"]
