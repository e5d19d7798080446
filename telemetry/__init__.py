"""OpenTelemetry for the order app: off unless a setting asks for it, then spans and logs per order.

``configure()`` (called once by ``function_app``) picks the exporter the settings name:
Azure Monitor with ``APPLICATIONINSIGHTS_CONNECTION_STRING``, else OTLP with
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_TRACES_EXPORTER=otlp``), else the console with
``OTEL_TRACES_EXPORTER=console``. With none of them set it imports no exporter and every
span helper is a no-op. ``install()`` hands the app a tracer provider set up elsewhere.
"""

from telemetry.logs import order_scope
from telemetry.setup import Exporter, configure, install, installed, uninstall
from telemetry.spans import tracer

__all__ = ["Exporter", "configure", "install", "installed", "order_scope", "tracer",
           "uninstall"]
