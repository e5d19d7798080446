"""Fixtures of the deploy tests: the app's telemetry captured in memory by the OpenTelemetry SDK."""

from __future__ import annotations

import contextlib
import http.server
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import telemetry


@dataclass(frozen=True)
class Captured:
    """What the app exported while the fixture ran: finished spans and log records."""

    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter

    def spans(self, name: str) -> list[ReadableSpan]:
        """Finished spans called ``name``, in the order they ended."""
        return [span for span in self.span_exporter.get_finished_spans() if span.name == name]

    def logs(self) -> list[ReadableLogRecord]:
        """Every log record exported so far."""
        return list(self.log_exporter.get_finished_logs())


@pytest.fixture
def captured() -> Iterator[Captured]:
    """The app's spans and logs go to in-memory exporters, as a configured distro sends them.

    Logs go through OpenTelemetry's logging handler on the root logger, which is where
    the Azure Monitor distro puts its own.
    """
    tracer_provider = TracerProvider()
    spans = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logs = InMemoryLogRecordExporter()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's handler is deprecated
        handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    root = logging.getLogger()
    root.addHandler(handler)
    telemetry.install(tracer_provider)
    try:
        yield Captured(spans, logs)
    finally:
        telemetry.uninstall()
        root.removeHandler(handler)
        tracer_provider.shutdown()
        logger_provider.shutdown()


class Receiver(http.server.BaseHTTPRequestHandler):
    """A quiet local stand-in for a telemetry endpoint; subclasses take each POST."""

    def body(self) -> bytes:
        """The request's body."""
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def answer(self, content_type: str, payload: bytes) -> None:
        """Answer 200 with ``payload``."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@contextlib.contextmanager
def serving(handler: type[Receiver], name: str) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port until the block ends; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
