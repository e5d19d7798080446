"""The FCM sender's payload and failure policy, against the emulator over real HTTP."""

import json
import logging
import time
from dataclasses import replace

import pytest

from fcm_emulator import FcmEmulator
from models.push import DeliveryOutcome
from push import PushMessage, PushSender, TransientPushError, sender_from_settings


def test_payload_shape(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """FCM receives title/body, string data with stage/orderId/seq, and the collapse key twice."""
    result = fcm_sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.SENT and result.delivered
    (received,) = fcm.messages(token="device-token-1")
    assert result.message_id == received["name"]
    assert received["notification"] == {"title": "Order 42", "body": "Your order is being prepared"}
    assert received["data"] == {"orderId": "42", "stage": "processing", "seq": "2"}
    assert received["android"] == {"collapse_key": "order-42", "priority": "high"}
    assert received["apns"]["headers"]["apns-collapse-id"] == "order-42"


def test_emulator_project_defaults_to_demo_project(
    fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """Without FCM_PROJECT_ID the emulator is addressed as demo-project."""
    result = fcm_sender.send(fcm_message)
    assert result.message_id is not None
    assert result.message_id.startswith("projects/demo-project/messages/")


def test_emulator_uses_fcm_project_id(fcm: FcmEmulator, fcm_message: PushMessage) -> None:
    """FCM_PROJECT_ID, when set, names the project in the send URL."""
    sender = sender_from_settings(
        {"FCM_EMULATOR_HOST": fcm.host_port, "FCM_PROJECT_ID": "orders-prod"}
    )
    sender.send(fcm_message)
    assert [r["project"] for r in fcm.requests()] == ["orders-prod"]


def test_unregistered_token_is_a_result(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """A 404 UNREGISTERED comes back as UNREGISTERED with the reason, not as an exception."""
    fcm.mark_unregistered(fcm_message.token)
    result = fcm_sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.UNREGISTERED
    assert result.status_code == 404
    assert result.error is not None and result.error.startswith("UNREGISTERED")


def test_invalid_token_is_a_result(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """A 400 blaming the registration token is INVALID_TOKEN, with FCM's reason recorded."""
    fcm.queue_fault(400)
    result = fcm_sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.INVALID_TOKEN
    assert result.error is not None and "registration token" in result.error


def test_empty_token_is_invalid_without_a_request(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """An empty token is INVALID_TOKEN at once; FCM is not asked."""
    result = fcm_sender.send(replace(fcm_message, token=" "))
    assert result.outcome is DeliveryOutcome.INVALID_TOKEN
    assert fcm.requests() == []


def test_429_with_retry_after_raises_at_once(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """429 with Retry-After: 30 raises at once with retry_after=30, no sleep, no second request."""
    fcm.queue_fault(429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(TransientPushError) as caught:
        fcm_sender.send(fcm_message)
    assert time.monotonic() - started < 2
    assert caught.value.retry_after == 30
    assert caught.value.status_code == 429
    assert len(fcm.requests()) == 1


def test_429_without_retry_after(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """429 without Retry-After raises TransientPushError with no wait hint."""
    fcm.queue_fault(429)
    with pytest.raises(TransientPushError) as caught:
        fcm_sender.send(fcm_message)
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_raises_once_then_next_send_succeeds(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage, status: int
) -> None:
    """A 5xx raises after one request (no urllib3 retries); the next send goes through."""
    fcm.queue_fault(status)
    with pytest.raises(TransientPushError) as caught:
        fcm_sender.send(fcm_message)
    assert caught.value.status_code == status
    assert [r["status"] for r in fcm.requests()] == [status]
    assert fcm_sender.send(fcm_message).outcome is DeliveryOutcome.SENT
    assert len(fcm.messages()) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refusal_is_a_config_error(
    fcm: FcmEmulator,
    fcm_sender: PushSender,
    fcm_message: PushMessage,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """401/403 return CONFIG_ERROR, logged as an error, and are not raised."""
    fcm.queue_fault(status)
    with caplog.at_level(logging.ERROR, logger="push"):
        result = fcm_sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.status_code == status
    assert any(
        "configuration" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    )


def test_slow_answer_times_out_in_bounded_time(
    fcm: FcmEmulator, fcm_message: PushMessage
) -> None:
    """An answer slower than FCM_TIMEOUT_SECONDS raises TransientPushError near the timeout."""
    sender = sender_from_settings(
        {"FCM_EMULATOR_HOST": fcm.host_port, "FCM_TIMEOUT_SECONDS": "0.5"}
    )
    fcm.queue_fault(200, delay_seconds=10)
    started = time.monotonic()
    with pytest.raises(TransientPushError, match="did not answer"):
        sender.send(fcm_message)
    assert time.monotonic() - started < 3


def test_unreachable_fcm_is_transient(fcm_message: PushMessage) -> None:
    """A refused connection raises TransientPushError promptly."""
    with FcmEmulator.running_in_thread() as emulator:
        host_port = emulator.host_port
    sender = sender_from_settings({"FCM_EMULATOR_HOST": host_port})
    started = time.monotonic()
    with pytest.raises(TransientPushError, match="cannot reach FCM"):
        sender.send(fcm_message)
    assert time.monotonic() - started < 2


def test_oversize_message_fails_without_a_request(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """A message over 4096 bytes is FAILED with the size in the reason; FCM is not asked."""
    big = replace(fcm_message, body="x" * 4000, data={"note": "y" * 200})
    result = fcm_sender.send(big)
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.error is not None and "4096" in result.error
    assert fcm.requests() == []


@pytest.mark.parametrize(
    ("data", "collapse_key", "reason"),
    [
        ({"from": "x"}, "k", "reserved"),
        ({"google.x": "1"}, "k", "reserved"),
        ({"seq": 3}, "k", "only strings"),
        ({}, "k" * 65, "APNs"),
    ],
)
def test_messages_fcm_would_refuse_fail_without_a_request(
    fcm: FcmEmulator,
    fcm_sender: PushSender,
    fcm_message: PushMessage,
    data: dict[str, str],
    collapse_key: str,
    reason: str,
) -> None:
    """Reserved keys, non-string values or a too-long collapse key are FAILED before sending."""
    bad = replace(fcm_message, data=data, collapse_key=collapse_key)
    result = fcm_sender.send(bad)
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.error is not None and reason in result.error
    assert fcm.requests() == []


def test_message_at_the_size_limit_is_sent(
    fcm: FcmEmulator, fcm_sender: PushSender, fcm_message: PushMessage
) -> None:
    """The client's size check agrees with FCM's: a message just under the limit goes out."""
    probe = fcm_sender.send(fcm_message)
    assert probe.delivered
    (stored,) = fcm.messages()
    wire = {k: v for k, v in stored.items() if k not in ("receivedAt", "name")}
    used = len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode())
    padded = replace(fcm_message, body=fcm_message.body + "z" * (4096 - used))
    assert fcm_sender.send(padded).delivered
    over = replace(padded, body=padded.body + "z")
    assert fcm_sender.send(over).outcome is DeliveryOutcome.FAILED
