"""Traces that follow an order: one span per push, with the order's fields, never the token.

The order runs end to end through the local host on the memory hub (the ``host`` fixture),
its pushes going to the FCM emulator; the OpenTelemetry SDK's in-memory exporters receive
what the app exports.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from devhost.host import LocalHost
from fcm_emulator import FcmEmulator
from push import PushMessage, TransientPushError, sender_from_settings
from telemetry import names
from tests.deploy.conftest import Captured
from tests.support.local_host import (
    WAIT_SECONDS,
    HttpApi,
    assert_completed_once,
    at_stage,
    client_of,
    ended,
    order_body,
)

TOKEN = "device-token-traces-0123456789"
STAGES = ["received", "processing", "awaiting_approval", "finished"]


async def run_approved_order(host: LocalHost, api: HttpApi, order_id: str) -> None:
    """Place an order, approve it when asked, and wait until it has ended."""
    placed = await api.place(order_body(order_id, TOKEN))
    assert placed.status == 202, placed.text
    await client_of(host).wait_for(order_id, at_stage("awaiting_approval"), WAIT_SECONDS)
    approved = await api.approve(order_id, {"approved": True, "note": "no pineapple"})
    assert approved.status == 202, approved.text
    await client_of(host).wait_for(order_id, ended, WAIT_SECONDS)


def attributes_of(span: Any) -> dict[str, Any]:
    """A span's attributes as a plain dict."""
    return dict(span.attributes or {})


async def test_each_push_of_one_order_is_a_span_with_its_fields(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, captured: Captured) -> None:
    """Four pushes, four push.send spans: order id, stage, seq 1-4 and the outcome sent."""
    order_id = "traced-order-0001"
    await run_approved_order(host, api, order_id)
    record = await client_of(host).get_instance(order_id)
    assert record is not None
    assert_completed_once(record, fcm, TOKEN)

    spans = captured.spans(names.PUSH_SPAN)
    assert [attributes_of(span) for span in spans] == [
        {names.ORDER_ID: order_id, names.ORDER_STAGE: stage, names.PUSH_SEQ: seq,
         names.PUSH_OUTCOME: "sent", names.PUSH_STATUS_CODE: 200}
        for seq, stage in enumerate(STAGES, start=1)]
    assert {span.kind for span in spans} == {SpanKind.CLIENT}
    assert {span.status.status_code for span in spans} == {StatusCode.UNSET}
    # The spans say what the phone received, push for push.
    pushed = [(m["data"]["stage"], m["data"]["seq"]) for m in fcm.messages(TOKEN)]
    assert pushed == [(attributes_of(s)[names.ORDER_STAGE], str(attributes_of(s)[names.PUSH_SEQ]))
                      for s in spans]


async def test_no_span_or_log_record_carries_the_registration_token(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, captured: Captured) -> None:
    """The token never reaches an attribute, a span name, an event or a log line."""
    await run_approved_order(host, api, "traced-order-0002")
    assert captured.spans(names.PUSH_SPAN)
    for span in captured.span_exporter.get_finished_spans():
        assert TOKEN not in span.to_json()
    for log in captured.logs():
        assert TOKEN not in log.to_json()


async def test_log_lines_during_a_push_carry_the_order_fields(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, captured: Captured) -> None:
    """FCM refusing the sender logs an error: its record names the order, stage and seq."""
    order_id = "traced-order-0003"
    fcm.queue_fault(403)  # the first push: a configuration problem, logged, the order goes on
    await run_approved_order(host, api, order_id)

    refused = [log for log in captured.logs()
               if "FCM refused the sender" in str(log.log_record.body)]
    assert len(refused) == 1
    log_attributes = dict(refused[0].log_record.attributes or {})
    assert (log_attributes[names.ORDER_ID], log_attributes[names.ORDER_STAGE],
            log_attributes[names.PUSH_SEQ]) == (order_id, "received", 1)
    first = captured.spans(names.PUSH_SPAN)[0]
    assert attributes_of(first)[names.PUSH_OUTCOME] == "config_error"
    assert first.status.status_code is StatusCode.ERROR
    # The log line belongs to the push's span, so Application Insights shows them together.
    assert first.context is not None
    assert refused[0].log_record.trace_id == first.context.trace_id
    assert refused[0].log_record.span_id == first.context.span_id


async def test_the_activity_line_after_each_push_carries_the_order_fields(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, captured: Captured,
        caplog: pytest.LogCaptureFixture) -> None:
    """BackendAction's own line after each push (outside the push's span) names the order,
    stage and seq as attributes, so a query by order id finds it (information level, which
    the Functions host records by default)."""
    caplog.set_level(logging.INFO, logger="activities.backend_action")
    order_id = "traced-order-0004"
    await run_approved_order(host, api, order_id)
    lines = [dict(log.log_record.attributes or {}) for log in captured.logs()
             if str(log.log_record.body).startswith(f"order {order_id} stage")]
    assert [(a[names.ORDER_ID], a[names.ORDER_STAGE], a[names.PUSH_SEQ]) for a in lines] == [
        (order_id, stage, seq) for seq, stage in enumerate(STAGES, start=1)]


def test_a_transient_failure_is_a_span_with_an_error_and_the_exception(
        fcm: FcmEmulator, captured: Captured) -> None:
    """A 503 raises for the durable retry policy; its span says transient and keeps the error."""
    sender = sender_from_settings({"FCM_EMULATOR_HOST": fcm.host_port, "FCM_TIMEOUT_SECONDS": "2"})
    fcm.queue_fault(503)
    message = PushMessage(token=TOKEN, title="t", body="b", collapse_key="order-x",
                          data={"orderId": "order-x", "stage": "processing", "seq": "2"})
    with pytest.raises(TransientPushError):
        sender.send(message)
    [span] = captured.spans(names.PUSH_SPAN)
    assert attributes_of(span) == {names.ORDER_ID: "order-x", names.ORDER_STAGE: "processing",
                                   names.PUSH_SEQ: 2, names.PUSH_OUTCOME: "transient"}
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


def test_without_telemetry_a_send_makes_no_span(fcm: FcmEmulator) -> None:
    """Nothing installed: the traced sender hands the message straight on."""
    import telemetry

    assert telemetry.installed() is None
    assert telemetry.tracer() is None
    sender = sender_from_settings({"FCM_EMULATOR_HOST": fcm.host_port})
    message = PushMessage(token=TOKEN, title="t", body="b", collapse_key="order-y",
                          data={"orderId": "order-y", "stage": "received", "seq": "1"})
    assert sender.send(message).delivered


def test_a_message_fcm_would_refuse_still_gets_its_span_and_its_refusal(
        fcm: FcmEmulator, captured: Captured) -> None:
    """A non-string data value: the sender refuses it as FAILED; the span records that."""
    sender = sender_from_settings({"FCM_EMULATOR_HOST": fcm.host_port})
    data: Any = {"orderId": "order-z", "stage": "received", "seq": 3}
    message = PushMessage(token=TOKEN, title="t", body="b", collapse_key="order-z", data=data)
    assert sender.send(message).outcome.value == "failed"
    [span] = captured.spans(names.PUSH_SPAN)
    assert attributes_of(span) == {names.ORDER_ID: "order-z", names.ORDER_STAGE: "received",
                                   names.PUSH_SEQ: 3, names.PUSH_OUTCOME: "failed"}
    assert span.status.status_code is StatusCode.ERROR
    assert fcm.messages(TOKEN) == []
