"""The names telemetry uses: settings it reads, attributes it writes, the tracer's name."""

from typing import Final

# Settings (environment variables / application settings).
SETTING_CONNECTION_STRING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SETTING_AUTHENTICATION_STRING: Final = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
SETTING_WORKER_OPENTELEMETRY: Final = "PYTHON_ENABLE_OPENTELEMETRY"
SETTING_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
SETTING_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
SETTING_TRACES_EXPORTER: Final = "OTEL_TRACES_EXPORTER"
SETTING_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"

DEFAULT_SERVICE_NAME: Final = "order-flow"
TRACER_NAME: Final = "order_flow"

# Span and log attributes. A registration token is never one of them.
ORDER_ID: Final = "order.id"
ORDER_STAGE: Final = "order.stage"
PUSH_SEQ: Final = "push.seq"
PUSH_OUTCOME: Final = "push.outcome"
PUSH_STATUS_CODE: Final = "push.status_code"

# The outcome a span records when the push failed in a way a retry may fix.
OUTCOME_TRANSIENT: Final = "transient"

PUSH_SPAN: Final = "push.send"
