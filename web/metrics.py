"""Prometheus metrics at /metrics: one registry per app (create_app may run many times in one process), never the global one.

What is counted as it happens: HTTP requests and their durations by route template (never the raw path), WebSocket
connections and closes, domain refusals as they become responses, resume outcomes, outbox deliveries; the hub's own
counters live in signaling.metrics. What is a state is sampled when Prometheus scrapes: the outbox backlog, live-chat
queues, the conversation log writer, the database pool, the draining flag (see docs/observability.md).

/metrics answers only `Authorization: Bearer <FAIRMEET_METRICS_TOKEN>`; without a configured token it does not exist (404).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import platform
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from importlib import metadata
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduling.livechat.models import LiveChat, LiveStatus
from scheduling.models import OutboxMessage
from signaling.metrics import SignalingMetrics
from web.requestid import RequestId

if TYPE_CHECKING:
    from scheduling.delivery import OutboxSender
    from scheduling.errors import DomainError
    from web.http import Resources

access_log = logging.getLogger("fairmeet.access")
log = logging.getLogger(__name__)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLAY_BUCKETS = (1, 5, 10, 50, 100, 500, 1000, 5000)
_CONVERTOR = re.compile(r"\{(\w+):[^}]+\}")
SAMPLE_TIMEOUT = 2.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CLIENT_CODES = frozenset({1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013})  # kept as they come from a client
# No *_created series: they double the output and Prometheus has no use for them here.
disable_created_metrics()  # type: ignore[no-untyped-call]

# The metrics of the app serving the current request: status_for() counts refusals through it.
current: ContextVar[Metrics | None] = ContextVar("fairmeet_metrics", default=None)


def _version() -> str:
    try:
        return metadata.version("fairmeet")
    except metadata.PackageNotFoundError:
        return "unknown"


def ws_kind(path: str) -> str:
    if path.startswith("/ws/rooms/"):
        return "room"
    if path.startswith("/ws/live/console"):
        return "console"
    if path.startswith("/ws/live"):
        return "live"
    return "other"


class Metrics:
    """The app's registry and the metrics in it. Children of labelled metrics are cached: a request costs two dict
    lookups, a counter increment and a histogram observation."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.http_requests = Counter("fairmeet_http_requests", "HTTP requests by route template, method and status",
                                     ["route", "method", "status"], registry=r)
        self.http_duration = Histogram("fairmeet_http_request_duration_seconds", "HTTP request durations by route template, method and status",
                                       ["route", "method", "status"], buckets=DURATION_BUCKETS, registry=r)
        self.ws_connections = Gauge("fairmeet_websocket_connections", "Open WebSocket connections by endpoint kind", ["kind"], registry=r)
        self.ws_closes = Counter("fairmeet_websocket_closes", "WebSocket closes by endpoint kind and close code (a refused handshake too)",
                                 ["kind", "code"], registry=r)
        self.refusals = Counter("fairmeet_domain_refusals", "Domain errors that became responses (slot_taken, quota_exceeded...)",
                                ["code", "status"], registry=r)
        self.resumes = Counter("fairmeet_resumes", "Socket hellos by kind and outcome: replayed (missed entries sent), "
                               "nothing_missed (last_seq was current), none (no last_seq: a fresh join)", ["kind", "outcome"], registry=r)
        self.replayed = Histogram("fairmeet_resume_replayed_entries", "Entries replayed to a resuming socket", ["kind"],
                                  buckets=REPLAY_BUCKETS, registry=r)
        self.deliveries = Counter("fairmeet_outbox_deliveries", "Outbox messages handed to SMTP or the SMS gateway, by channel and "
                                  "result (sent, failed: this attempt failed)", ["channel", "result"], registry=r)
        self.build = Gauge("fairmeet_build_info", "Always 1; the version and Python", ["version", "python"], registry=r)
        self.build.labels(_version(), platform.python_version()).set(1)
        self.signaling = SignalingMetrics(r)
        # Sampled at scrape time (gauges cleared and filled again, so a queue that emptied disappears).
        self.outbox_backlog = Gauge("fairmeet_outbox_backlog", "Outbox rows not sent, by channel and status (pending, sending, failed)",
                                    ["channel", "status"], registry=r)
        self.outbox_oldest = Gauge("fairmeet_outbox_oldest_unsent_age_seconds", "Age of the oldest pending or sending outbox row",
                                   ["channel"], registry=r)
        self.live_waiting = Gauge("fairmeet_livechat_queue_waiting", "Live chats waiting, per queue", ["queue"], registry=r)
        self.live_oldest = Gauge("fairmeet_livechat_queue_oldest_wait_seconds", "How long the longest-waiting live chat has waited, per queue",
                                 ["queue"], registry=r)
        self.scrape_errors = Counter("fairmeet_metrics_sample_errors", "Scrape-time samples that failed (database out of reach)",
                                     ["sample"], registry=r)
        self.sampled = _Sampled()
        r.register(self.sampled)
        self._http: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._routes: dict[int, str] = {}

    # ----------------------------------------------------------------------------------------------- as it happens

    def route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return "unmatched"
        key = id(route)
        template = self._routes.get(key)
        if template is None:
            path = getattr(route, "path", "") or ""
            if isinstance(route, Mount):
                path = path.rstrip("/") + "/{path}"
            elif not isinstance(route, Route) and not path:
                path = "unmatched"
            template = self._routes[key] = _CONVERTOR.sub(r"{\1}", path)
        return template

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._http.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = self._http[key] = (self.http_requests.labels(*labels), self.http_duration.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def refused(self, code: str, status: int) -> None:
        self.refusals.labels(code, str(status)).inc()

    def resumed(self, kind: str, last_seq: int | None, replayed: int) -> None:
        if last_seq is None:
            outcome = "none"
        elif replayed:
            outcome = "replayed"
            self.replayed.labels(kind).observe(replayed)
        else:
            outcome = "nothing_missed"
        self.resumes.labels(kind, outcome).inc()

    def count_deliveries(self, sender: OutboxSender) -> None:
        """Wraps `sender.deliver` so each attempt counts as sent or failed (scheduling knows nothing of Prometheus)."""
        inner = sender.deliver
        sent, failed = self.deliveries.labels(sender.channel, "sent"), self.deliveries.labels(sender.channel, "failed")

        async def deliver(message: OutboxMessage) -> None:
            try:
                await inner(message)
            except Exception:
                failed.inc()
                raise
            sent.inc()

        sender.deliver = deliver  # type: ignore[method-assign]

    # ----------------------------------------------------------------------------------------------- at scrape time

    async def sample(self, r: Resources) -> None:
        """Reads the states that are sampled (two grouped queries, SAMPLE_TIMEOUT at most), then sets the gauges."""
        now = r.clock()
        outbox: list[Any] = []
        queues: list[Any] = []
        try:
            async with asyncio.timeout(SAMPLE_TIMEOUT), r.sessionmaker() as session:
                outbox = list((await session.execute(
                    select(OutboxMessage.channel, OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
                    .where(OutboxMessage.status.in_(("pending", "sending", "failed")))
                    .group_by(OutboxMessage.channel, OutboxMessage.status))).all())
                queues = list((await session.execute(
                    select(LiveChat.queue, func.count(), func.min(LiveChat.queued_at))
                    .where(LiveChat.status == LiveStatus.WAITING.value).group_by(LiveChat.queue))).all())
        except Exception as err:  # noqa: BLE001 -- the other metrics are still worth serving
            log.warning("metrics: sampling the database failed: %s", err)
            self.scrape_errors.labels("database").inc()
        self.outbox_backlog.clear()
        self.outbox_oldest.clear()
        oldest: dict[str, float] = {}
        for channel, status, count, first in outbox:
            self.outbox_backlog.labels(channel, status).set(count)
            if status != "failed" and first is not None:
                oldest[channel] = max(oldest.get(channel, 0.0), (now - first).total_seconds())
        for channel, age in oldest.items():
            self.outbox_oldest.labels(channel).set(max(0.0, age))
        self.live_waiting.clear()
        self.live_oldest.clear()
        for queue, count, first in queues:
            self.live_waiting.labels(queue).set(count)
            self.live_oldest.labels(queue).set(max(0.0, (now - first).total_seconds()) if first is not None else 0.0)
        self.sampled.resources = r


class _Sampled(Collector):
    """What is read off the running objects at scrape time: the log writer, the pool, the hub, the draining flag."""

    def __init__(self) -> None:
        self.resources: Resources | None = None

    def collect(self) -> Iterator[Metric]:
        r = self.resources
        if r is None:
            return
        writer = r.log_writer
        yield CounterMetricFamily("fairmeet_conversation_entries_stored", "Conversation entries (messages, presence) stored by the "
                                  "log writer", value=writer.stored)
        yield CounterMetricFamily("fairmeet_conversation_batches", "Batches (transactions) the log writer committed; "
                                  "entries / batches is the mean batch size", value=writer.batches)
        yield GaugeMetricFamily("fairmeet_log_writer_queue_depth", "Conversation entries waiting to be stored",
                                value=len(writer._queue))  # noqa: SLF001 -- read-only peek; scheduling stays free of Prometheus
        engine = r.sessionmaker.kw.get("bind")
        checkedout = getattr(getattr(engine, "pool", None), "checkedout", None)
        if callable(checkedout):
            yield GaugeMetricFamily("fairmeet_db_pool_checked_out", "Database connections checked out of the pool", value=checkedout())
        yield GaugeMetricFamily("fairmeet_hub_local_connections", "Connections attached to this node's hub", value=r.hub.local_count())
        yield GaugeMetricFamily("fairmeet_draining", "1 once shutdown has begun (/readyz answers 503)", value=1 if r.draining else 0)


# --------------------------------------------------------------------------------------------------- ASGI and HTTP


class Observe:
    """Pure ASGI: times HTTP requests (labelled by the route the router matched), writes the access log line, counts
    WebSocket connections and their close codes. Sits just inside RequestId, outside Starlette's error handling, so
    a 500 is counted as one."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500
        token = current.set(self.metrics)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            current.reset(token)
            seconds = time.perf_counter() - start
            route = self.metrics.route_template(scope)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"  # a client's made-up methods add no series
            self.metrics.observe_http(route, method, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                # The template, never the path: no ids, and no tokens (sign-in links, ?token=) in the log.
                access_log.info("%s %s %s", method, route, status,
                                extra={"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 2)})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = ws_kind(scope.get("path", ""))
        gauge = self.metrics.ws_connections.labels(kind)
        accepted = False
        code: int | None = None
        by_client = False
        token = current.set(self.metrics)

        async def observed_send(message: Message) -> None:
            nonlocal accepted, code
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                gauge.inc()
            elif message["type"] == "websocket.close" and code is None:
                code = int(message.get("code", 1000))
            await send(message)

        async def observed_receive() -> Message:
            nonlocal code, by_client
            message = await receive()
            if message["type"] == "websocket.disconnect" and code is None:
                code = int(message.get("code", 1005))
                by_client = True
            return message

        start = time.perf_counter()
        try:
            await self.app(scope, observed_receive, observed_send)
        finally:
            current.reset(token)
            if accepted:
                gauge.dec()
            close = code if code is not None else 1006
            # A client may close with any code it likes: unusual ones share one series.
            self.metrics.ws_closes.labels(kind, "other" if by_client and close not in CLIENT_CODES else str(close)).inc()
            if access_log.isEnabledFor(logging.INFO):
                route = self.metrics.route_template(scope)
                seconds = time.perf_counter() - start
                access_log.info("WS %s %s after %.1f s", route, close, seconds,
                                extra={"method": "WS", "route": route, "status": close, "accepted": accepted, "duration_ms": round(seconds * 1000, 2)})


def refused(error: DomainError, status: int) -> None:
    """Counts a domain error that becomes a response (called by web.http.status_for)."""
    metrics = current.get()
    if metrics is not None:
        metrics.refused(error.code, status)


async def metrics_endpoint(request: Request) -> Response:
    from web.http import json_error, res  # noqa: PLC0415 -- web.http imports this module

    r = res(request)
    expected = r.settings.metrics_token
    if not expected or r.metrics is None:
        return json_error(404, "not_found", "Not Found")
    given = request.headers.get("authorization", "")
    scheme, _, credential = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), expected.encode()):
        return json_error(401, "unauthenticated", "Send Authorization: Bearer <the metrics token>.",
                          headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    await r.metrics.sample(r)
    return Response(generate_latest(r.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


routes = [Route("/metrics", metrics_endpoint)]



class ObservedApp(Starlette):
    """Starlette with RequestId and Observe outside its own middleware stack (its ServerErrorMiddleware included), so a
    500 is timed, counted and carries X-Request-ID like any other response."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        self.metrics = metrics
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return RequestId(Observe(super().build_middleware_stack(), self.metrics))
