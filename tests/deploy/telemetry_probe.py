"""Run in a fresh interpreter by the telemetry tests: import the app, push once, report.

The last line of its output is ``PROBE `` and a JSON report: which exporter telemetry
installed, the global tracer provider's type, the exporter modules imported, whether the
log-record factory is still the standard one, and the push's outcome.
"""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry import trace

import function_app  # noqa: F401 - importing the app is what configures telemetry
import telemetry
from push import PushMessage, sender_from_settings

ORDER_ID = "probe-order-0001"
WATCHED_PREFIXES = ("azure.monitor", "opentelemetry.exporter", "opentelemetry.sdk")


def main() -> None:
    """Push one message with the process's settings and print the report."""
    message = PushMessage(token="probe-device-token", title="t", body="b",
                          collapse_key=f"order-{ORDER_ID}",
                          data={"orderId": ORDER_ID, "stage": "received", "seq": "1"})
    result = sender_from_settings().send(message)
    installed = telemetry.installed()
    report = {
        "installed": installed.value if installed is not None else None,
        "provider": type(trace.get_tracer_provider()).__name__,
        "modules": sorted(name for name in sys.modules if name.startswith(WATCHED_PREFIXES)),
        "standard_log_records": logging.getLogRecordFactory() is logging.LogRecord,
        "outcome": result.outcome.value,
    }
    sys.stdout.flush()
    print("PROBE " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
