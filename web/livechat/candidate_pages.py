"""The candidate's pages: a job req's public page, the widget's iframe and loader script, the continue page."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
