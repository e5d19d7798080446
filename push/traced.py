"""A sender that records each push as one span when telemetry is on, and adds nothing when off.

The span names the order, the stage, the sequence number and how the push ended; the
registration token is never an attribute. Log lines made during the push carry the same
order fields (``telemetry.order_scope``).
"""

from __future__ import annotations

from collections.abc import Mapping

import telemetry
from models.push import DeliveryOutcome, DeliveryResult
from push.errors import TransientPushError
from push.message import PushMessage
from push.sender import PushSender
from telemetry import names

# Push data keys (what the phone reads) and the attribute each one becomes.
_DATA_ATTRIBUTES: Mapping[str, str] = {
    "orderId": names.ORDER_ID,
    "stage": names.ORDER_STAGE,
    "seq": names.PUSH_SEQ,
}
# Outcomes that mean something on our side needs attention: the span's status is ERROR.
_ERROR_OUTCOMES = frozenset({DeliveryOutcome.CONFIG_ERROR, DeliveryOutcome.FAILED})


def order_fields(message: PushMessage) -> dict[str, str | int]:
    """The span and log attributes of ``message``: order id, stage and seq, from its data."""
    fields: dict[str, str | int] = {}
    for key, attribute in _DATA_ATTRIBUTES.items():
        raw = message.data.get(key)
        if raw is None:
            continue
        # A value FCM would refuse (not a string) is the sender's to report, not the span's.
        value = raw if isinstance(raw, str) else str(raw)
        # seq is a number to query and sort by; the data carries it as a string (FCM's rule).
        is_number = attribute == names.PUSH_SEQ and value.isdigit()
        fields[attribute] = int(value) if is_number else value
    return fields


class TracedSender:
    """Wraps a sender; each ``send`` is a ``push.send`` span while telemetry is on."""

    def __init__(self, inner: PushSender) -> None:
        """Trace the sends of ``inner``."""
        self._inner = inner

    @property
    def inner(self) -> PushSender:
        """The sender that really sends."""
        return self._inner

    def send(self, message: PushMessage) -> DeliveryResult:
        """Send through the inner sender, inside a span when telemetry is installed."""
        tracer = telemetry.tracer()
        if tracer is None:
            return self._inner.send(message)
        from opentelemetry.trace import SpanKind, Status, StatusCode

        fields = order_fields(message)
        with tracer.start_as_current_span(names.PUSH_SPAN, kind=SpanKind.CLIENT,
                                          attributes=fields) as span, \
                telemetry.order_scope(fields):
            try:
                result = self._inner.send(message)
            except TransientPushError:
                # The span records the exception and an ERROR status as it leaves.
                span.set_attribute(names.PUSH_OUTCOME, names.OUTCOME_TRANSIENT)
                raise
            span.set_attribute(names.PUSH_OUTCOME, result.outcome.value)
            if result.status_code is not None:
                span.set_attribute(names.PUSH_STATUS_CODE, result.status_code)
            if result.outcome in _ERROR_OUTCOMES:
                span.set_status(Status(StatusCode.ERROR, result.error))
            return result
