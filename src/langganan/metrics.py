"""Prometheus metrics, exposed with prometheus_client. `/metrics` is not public: on the app it needs an
admin API key; with LANGGANAN_METRICS_ADDRESS set it is served by `serve` and `worker` on that address
alone (a listener of its own, for a scraper on a private network) and the app has no /metrics at all.

Each metric is a collector that reads the database when scraped; add new ones to `registry`."""

from __future__ import annotations

from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from langganan.config import ConfigError
from langganan.invoices import repository as invoices_repo
from langganan.kit.db import Database


class InvoicesByStatus(Collector):
    """langganan_invoices{status=...}: how many invoices are in each status."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("langganan_invoices", "Invoices by status", labels=["status"])

    def describe(self) -> Iterator[Metric]:  # registering reads nothing
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        with self.db.sessions() as session:
            for status, count in invoices_repo.count_by_status(session):
                family.add_metric([status], count)
        yield family


def registry(db: Database) -> CollectorRegistry:
    """The metrics of one database; a registry per app or process, never the library's global one."""
    found = CollectorRegistry(auto_describe=False)
    found.register(InvoicesByStatus(db))
    return found


def exposition(metrics: CollectorRegistry) -> bytes:
    """The Prometheus text format of every metric (reads the database)."""
    return generate_latest(metrics)


class Listener:
    """/metrics on LANGGANAN_METRICS_ADDRESS, served from a thread of its own until closed."""

    def __init__(self, address: tuple[str, int], metrics: CollectorRegistry) -> None:
        host, port = address
        try:
            self._server: WSGIServer = start_http_server(port, host, registry=metrics)[0]
        except OSError as exc:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ConfigError(f"LANGGANAN_METRICS_ADDRESS={shown} cannot be listened on: {exc.strerror}") from exc

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
