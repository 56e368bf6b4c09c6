"""The staff's pages: the Chats console, history, and job req management."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
