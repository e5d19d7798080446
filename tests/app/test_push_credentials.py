"""The service-account path end to end: signed JWT grant, token, bearer header, send."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fcm_emulator import FcmEmulator
from models.push import DeliveryOutcome
from push import PushMessage, TransientPushError
from push.client import SingleShotFCM
from push.credentials import service_account_from_json
from push.fcm_sender import FcmSender


@pytest.fixture(scope="module")
def fcm_private_key_pem() -> str:
    """A throwaway RSA key in PKCS#8 PEM, as a service-account file holds it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _service_account_json(private_key: str, token_uri: str) -> str:
    """A service-account key file whose token endpoint is ``token_uri``."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "from-key-file",
            "private_key_id": "k1",
            "private_key": private_key,
            "client_email": "pusher@from-key-file.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": token_uri,
        }
    )


def _sender(emulator: FcmEmulator, key_json: str) -> FcmSender:
    """A real-credentials sender whose FCM endpoint is the emulator."""
    credentials = service_account_from_json(key_json, source="test key")
    client = SingleShotFCM(
        credentials=credentials,
        project_id="orders-prod",
        timeout_seconds=2,
        endpoint_base=f"{emulator.base_url}/v1/projects",
    )
    return FcmSender(client, timeout_seconds=2)


def test_service_account_token_is_fetched_and_sent(
    fcm: FcmEmulator, fcm_private_key_pem: str, fcm_message: PushMessage
) -> None:
    """The signed grant yields a token that the send presents; the set project id wins."""
    key_json = _service_account_json(fcm_private_key_pem, f"{fcm.base_url}/token")
    result = _sender(fcm, key_json).send(fcm_message)
    assert result.outcome is DeliveryOutcome.SENT
    (seen,) = fcm.requests()
    assert seen["bearer"].startswith("emulator-")
    assert seen["project"] == "orders-prod"


def test_unreachable_token_endpoint_is_transient(
    fcm: FcmEmulator, fcm_private_key_pem: str, fcm_message: PushMessage
) -> None:
    """No answer from the token endpoint is worth a retry, and no send is attempted."""
    with FcmEmulator.running_in_thread() as gone:
        dead_uri = f"{gone.base_url}/token"
    key_json = _service_account_json(fcm_private_key_pem, dead_uri)
    with pytest.raises(TransientPushError, match="token endpoint"):
        _sender(fcm, key_json).send(fcm_message)
    assert fcm.requests() == []


def test_refused_token_grant_is_config_error(
    fcm: FcmEmulator, fcm_private_key_pem: str, fcm_message: PushMessage
) -> None:
    """A token endpoint that refuses the grant is a configuration problem, not a bad message."""
    key_json = _service_account_json(fcm_private_key_pem, f"{fcm.base_url}/no-such-path")
    result = _sender(fcm, key_json).send(fcm_message)
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.error is not None and "refresh" in result.error
    assert fcm.requests() == []
