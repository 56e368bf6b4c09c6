"""Serving with a graceful shutdown: `serve(app, host, port)` runs uvicorn and drains before it stops.

On the first SIGTERM or SIGINT:
1. `app.state.res.draining` turns True at once: /readyz answers 503 and new WebSocket handshakes are closed with
   1012 (web.health.refuse_if_draining), so a balancer's health check takes this replica out and clients go elsewhere;
2. the server keeps serving for `drain_delay` seconds (FAIRMEET_DRAIN_DELAY), long enough for the balancer to notice;
3. then uvicorn's own shutdown: the listener closes (a proxy's next connection attempt is refused and it tries the
   other replica), open WebSockets are closed with 1012 (clients reconnect and resume from their last seq), requests
   in flight finish, all within `grace` seconds (FAIRMEET_SHUTDOWN_GRACE);
4. the app's lifespan shutdown: background jobs stop, the conversation log writer flushes what it acknowledged.

A second signal forces the exit (no more waiting, no lifespan shutdown): status 1. A drained process exits with 0.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose first exit signal drains (readiness off, keep serving `drain_delay` s) before shutting down."""

    def __init__(self, config: uvicorn.Config, app: Starlette, *, drain_delay: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_delay = drain_delay
        self.drain_started: float | None = None  # time.monotonic() of the first signal
        self._stop_at: float | None = None

    def begin_drain(self) -> None:
        """Readiness off now; the shutdown proper follows after the drain delay. Safe to call from a signal handler."""
        if self.drain_started is not None:
            return
        self.drain_started = time.monotonic()
        self._stop_at = self.drain_started + self.drain_delay
        res = getattr(self.app.state, "res", None)
        if res is not None:
            res.draining = True
        else:  # not started yet (or already stopped): nothing to drain
            self.should_exit = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_started is None:
            log.info("signal %s: draining for %.1f s, then shutting down (a second signal forces the exit)", sig, self.drain_delay)
            self.begin_drain()
            return
        log.warning("signal %s again: forcing the exit", sig)
        self.should_exit = True
        self.force_exit = True

    async def on_tick(self, counter: int) -> bool:
        if self._stop_at is not None and not self.should_exit and time.monotonic() >= self._stop_at:
            log.info("drain delay over: closing the listener, WebSockets (1012) and waiting for requests in flight")
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        # uvicorn re-raises the signals it caught once it has stopped, to die by them; this server's caller returns
        # an exit status instead: 0 once drained (process managers count it a clean stop), 1 if forced.
        self._captured_signals.clear()


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8000, *, sockets: list[socket.socket] | None = None, uds: str | None = None,
          drain_delay: float = 2.0, grace: float = 20.0, log_level: str = "info", access_log: bool = True,
          proxy_headers: bool = True, forwarded_allow_ips: str | None = None, **options: Any) -> int:
    """Serves `app` until a signal, then drains (see the module's doc). Returns the process's exit status: 0 drained, 1 forced."""
    config = uvicorn.Config(app, host=host, port=port, uds=uds, log_level=log_level, access_log=access_log, lifespan="on",
                            proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                            timeout_graceful_shutdown=max(1, math.ceil(grace)), **options)
    server = DrainingServer(config, app, drain_delay=drain_delay)
    server.run(sockets=sockets)
    if server.drain_started is not None:
        log.info("stopped %.2f s after the first signal%s", time.monotonic() - server.drain_started, " (forced)" if server.force_exit else "")
    return 1 if server.force_exit else 0
