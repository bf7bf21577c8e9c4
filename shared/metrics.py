"""Prometheus metrics, one registry per app so that several apps can live in one process."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.processed = Counter("cvp_events_consumed_total", "Events consumed", ["group"], registry=registry)
        self.duplicates = Counter("cvp_events_duplicate_total", "Redelivered events skipped by the inbox",
                                  ["group"], registry=registry)
        self.dead_lettered = Counter("cvp_events_dead_lettered_total", "Records sent to a DLQ",
                                     ["group", "topic"], registry=registry)
        self.batch_seconds = Histogram("cvp_consumer_batch_seconds", "Time to apply and commit one batch",
                                       ["group"], registry=registry)
        self.lag = Gauge("cvp_consumer_lag", "Records behind the partition end", ["group", "topic", "partition"],
                         registry=registry)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter("cvp_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("cvp_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5),
                                 registry=registry)


class PlatformMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(self.registry)
        self.consumer = ConsumerMetrics(self.registry)
        self.outbox_pending = Gauge("cvp_outbox_pending", "Outbox rows not yet published", registry=self.registry)
