"""The signaling layer's Prometheus metrics, registered in the registry the app gives (one per app, never the global one).

The hub counts what it hands to this node's connections, how long an envelope took from `Hub.publish` (on any node:
the envelope carries the publishing time) to being queued on a local connection, and the connections it closed with
4008 because they fell too far behind (their send queue was full).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class SignalingMetrics:
    __slots__ = ("delivered", "delivery_latency", "send_queue_drops")

    def __init__(self, registry: CollectorRegistry) -> None:
        self.delivered = Counter("fairmeet_messages_delivered", "Frames the hub handed to local connections (one per recipient)",
                                 registry=registry)
        self.delivery_latency = Histogram("fairmeet_delivery_latency_seconds",
                                          "From Hub.publish (any node) to queueing on this node's connections, per envelope",
                                          buckets=LATENCY_BUCKETS, registry=registry)
        self.send_queue_drops = Counter("fairmeet_send_queue_drops",
                                        "Connections closed with 4008 (too slow) because their send queue was full", registry=registry)
