"""The emulator's send endpoint enforces FCM's rules, answering over real HTTP."""

import json
from typing import Any

import pytest
import requests

from fcm_emulator import FcmEmulator

AUTH = {"Authorization": "Bearer test-token"}


def _send(
    emulator: FcmEmulator,
    message: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    validate_only: bool = False,
) -> requests.Response:
    """POST one message to the emulator's send endpoint."""
    return requests.post(
        f"{emulator.base_url}/v1/projects/demo/messages:send",
        json={"message": message, "validate_only": validate_only},
        headers=AUTH if headers is None else headers,
        timeout=5,
    )


def _fcm_error(response: requests.Response) -> tuple[int, str, str]:
    """(code, gRPC status, FCM error code) from an FCM-shaped error body."""
    error = response.json()["error"]
    (detail,) = error["details"]
    assert detail["@type"] == "type.googleapis.com/google.firebase.fcm.v1.FcmError"
    return error["code"], error["status"], detail["errorCode"]


def test_valid_message_is_stored_and_named(fcm: FcmEmulator) -> None:
    """A valid send answers a project-scoped name and is kept with receivedAt and name."""
    response = _send(fcm, {"token": "t1", "data": {"a": "1"}})
    assert response.status_code == 200
    name = response.json()["name"]
    assert name.startswith("projects/demo/messages/")
    (stored,) = fcm.messages()
    assert stored["name"] == name
    assert stored["token"] == "t1" and stored["data"] == {"a": "1"}
    assert stored["receivedAt"].endswith("Z")


@pytest.mark.parametrize(
    "targets",
    [{"token": "t", "topic": "news"}, {"token": "t", "condition": "'a' in topics"}, {}],
)
def test_exactly_one_target(fcm: FcmEmulator, targets: dict[str, str]) -> None:
    """No target, or more than one, is a 400 INVALID_ARGUMENT and nothing is stored."""
    response = _send(fcm, {**targets, "data": {"a": "1"}})
    assert _fcm_error(response) == (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
    assert fcm.messages() == []


@pytest.mark.parametrize("value", [1, True, None, ["x"], {"k": "v"}])
def test_data_values_must_be_strings(fcm: FcmEmulator, value: object) -> None:
    """A non-string data value is refused, naming the offending field."""
    response = _send(fcm, {"token": "t", "data": {"ok": "1", "seq": value}})
    assert response.status_code == 400
    assert "message.data[1].value" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "key", ["from", "gcm", "gcm.notification.x", "google.sent_time", "message_type", "collapse_key"]
)
def test_reserved_data_keys(fcm: FcmEmulator, key: str) -> None:
    """Data keys FCM reserves are refused."""
    response = _send(fcm, {"token": "t", "data": {key: "x"}})
    assert _fcm_error(response)[0] == 400
    assert key in response.json()["error"]["message"]


def test_size_limit_is_4096_bytes(fcm: FcmEmulator) -> None:
    """A message of exactly 4096 bytes passes; one more byte is refused."""
    overhead = len(json.dumps({"token": "t", "data": {"pad": ""}}, separators=(",", ":")))
    at_limit = {"token": "t", "data": {"pad": "x" * (4096 - overhead)}}
    assert _send(fcm, at_limit).status_code == 200
    over = {"token": "t", "data": {"pad": "x" * (4097 - overhead)}}
    response = _send(fcm, over)
    assert response.status_code == 400
    assert "too big" in response.json()["error"]["message"]


def test_size_counts_utf8_bytes(fcm: FcmEmulator) -> None:
    """Multi-byte characters count by their UTF-8 size, not as one each."""
    response = _send(fcm, {"token": "t", "data": {"pad": "é" * 2100}})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}]
)
def test_bearer_token_required(fcm: FcmEmulator, headers: dict[str, str]) -> None:
    """Without a bearer token the answer is 401 UNAUTHENTICATED and nothing is stored."""
    response = _send(fcm, {"token": "t"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert fcm.messages() == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"msg": {}}'])
def test_body_must_be_json_with_message(fcm: FcmEmulator, body: bytes) -> None:
    """A body that is not JSON, or lacks `message`, is a 400."""
    response = requests.post(
        f"{fcm.base_url}/v1/projects/demo/messages:send",
        data=body,
        headers=AUTH,
        timeout=5,
    )
    assert _fcm_error(response)[:2] == (400, "INVALID_ARGUMENT")


def test_unregistered_token_is_404(fcm: FcmEmulator) -> None:
    """A token marked unregistered answers 404 UNREGISTERED; other tokens still work."""
    fcm.mark_unregistered("dead")
    assert _fcm_error(_send(fcm, {"token": "dead"})) == (404, "NOT_FOUND", "UNREGISTERED")
    assert _send(fcm, {"token": "alive"}).status_code == 200


def test_validate_only_does_not_store(fcm: FcmEmulator) -> None:
    """validate_only checks the message and answers FCM's fake name without keeping it."""
    response = _send(fcm, {"token": "t"}, validate_only=True)
    assert response.json() == {"name": "projects/demo/messages/fake_message_id"}
    assert fcm.messages() == []
    assert _send(fcm, {"token": "t", "topic": "x"}, validate_only=True).status_code == 400


def test_long_apns_collapse_id_is_refused(fcm: FcmEmulator) -> None:
    """An apns-collapse-id over 64 bytes is refused, as APNs would."""
    apns = {"headers": {"apns-collapse-id": "c" * 65}}
    assert _send(fcm, {"token": "t", "apns": apns}).status_code == 400
    apns = {"headers": {"apns-collapse-id": "c" * 64}}
    assert _send(fcm, {"token": "t", "apns": apns}).status_code == 200
