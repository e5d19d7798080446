"""Which sender the settings give, and how unusable settings show up."""

import json
import logging
from pathlib import Path

import pytest

from models.push import DeliveryOutcome
from push import PushMessage, sender_from_settings
from push.fallback import NotConfiguredSender


def test_not_configured_sends_nothing(fcm_message: PushMessage) -> None:
    """With neither FCM_PROJECT_ID nor FCM_EMULATOR_HOST every send is NOT_CONFIGURED."""
    result = sender_from_settings({"GOOGLE_APPLICATION_CREDENTIALS": "/nowhere"}).send(fcm_message)
    assert result.outcome is DeliveryOutcome.NOT_CONFIGURED
    assert not result.delivered


def test_not_configured_is_one_sender_per_process() -> None:
    """Every unconfigured environment gets the same sender, so its warning is given once."""
    assert sender_from_settings({}) is sender_from_settings({"FCM_PROJECT_ID": "  "})


def test_not_configured_warns_once(
    fcm_message: PushMessage, caplog: pytest.LogCaptureFixture
) -> None:
    """Two sends through the not-configured sender log exactly one warning."""
    sender = NotConfiguredSender()
    with caplog.at_level(logging.WARNING, logger="push"):
        sender.send(fcm_message)
        sender.send(fcm_message)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not configured" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "service_account"}', "not a usable service account"),
        ('{"type": "authorized_user"}', "not a service account"),
    ],
)
def test_malformed_service_account_json_is_config_error(
    fcm_message: PushMessage, value: str, reason: str
) -> None:
    """A broken FCM_SERVICE_ACCOUNT_JSON gives CONFIG_ERROR with a clear reason, never a crash."""
    sender = sender_from_settings({"FCM_PROJECT_ID": "p", "FCM_SERVICE_ACCOUNT_JSON": value})
    result = sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.error is not None
    assert "FCM_SERVICE_ACCOUNT_JSON" in result.error and reason in result.error


def test_private_key_never_appears_in_the_reason(fcm_message: PushMessage) -> None:
    """The reason for a broken key names the setting, not the secret it holds."""
    secret = "-----BEGIN PRIVATE KEY-----\\nTOPSECRET\\n-----END PRIVATE KEY-----\\n"
    value = json.dumps(
        {
            "type": "service_account",
            "project_id": "p",
            "private_key": secret,
            "client_email": "a@p.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
    result = sender_from_settings({"FCM_PROJECT_ID": "p", "FCM_SERVICE_ACCOUNT_JSON": value}).send(
        fcm_message
    )
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.error is not None and "TOPSECRET" not in result.error


def test_missing_credentials_file_is_config_error(fcm_message: PushMessage, tmp_path: Path) -> None:
    """A GOOGLE_APPLICATION_CREDENTIALS path that does not exist gives CONFIG_ERROR."""
    missing = tmp_path / "absent.json"
    sender = sender_from_settings(
        {"FCM_PROJECT_ID": "p", "GOOGLE_APPLICATION_CREDENTIALS": str(missing)}
    )
    result = sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.error is not None and str(missing) in result.error


def test_project_without_credentials_is_config_error(fcm_message: PushMessage) -> None:
    """FCM_PROJECT_ID alone (no emulator, no key) gives CONFIG_ERROR naming both settings."""
    result = sender_from_settings({"FCM_PROJECT_ID": "p"}).send(fcm_message)
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.error is not None and "GOOGLE_APPLICATION_CREDENTIALS" in result.error


@pytest.mark.parametrize("timeout", ["ten", "0", "-1", "nan", "inf"])
def test_bad_timeout_is_config_error(fcm_message: PushMessage, timeout: str) -> None:
    """An unusable FCM_TIMEOUT_SECONDS gives CONFIG_ERROR rather than an unbounded send."""
    sender = sender_from_settings(
        {"FCM_EMULATOR_HOST": "127.0.0.1:1", "FCM_TIMEOUT_SECONDS": timeout}
    )
    result = sender.send(fcm_message)
    assert result.outcome is DeliveryOutcome.CONFIG_ERROR
    assert result.error is not None and "FCM_TIMEOUT_SECONDS" in result.error


def test_config_error_logged_once_per_sender(
    fcm_message: PushMessage, caplog: pytest.LogCaptureFixture
) -> None:
    """Unusable settings are logged as an error on the first send, not on every send."""
    sender = sender_from_settings({"FCM_EMULATOR_HOST": "h:1", "FCM_TIMEOUT_SECONDS": "x"})
    with caplog.at_level(logging.ERROR, logger="push"):
        sender.send(fcm_message)
        sender.send(fcm_message)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_same_settings_reuse_one_sender() -> None:
    """Equal settings give the same sender (and so the same pyfcm client)."""
    env = {"FCM_EMULATOR_HOST": "127.0.0.1:9", "UNRELATED": "1"}
    assert sender_from_settings(env) is sender_from_settings({"FCM_EMULATOR_HOST": "127.0.0.1:9"})
    assert sender_from_settings(env) is not sender_from_settings(
        {"FCM_EMULATOR_HOST": "127.0.0.1:9", "FCM_TIMEOUT_SECONDS": "3"}
    )


def test_reads_os_environ_by_default(
    monkeypatch: pytest.MonkeyPatch, fcm_message: PushMessage
) -> None:
    """Without an argument the process environment is read."""
    monkeypatch.setenv("FCM_PROJECT_ID", "p")
    monkeypatch.delenv("FCM_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("FCM_SERVICE_ACCOUNT_JSON", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert sender_from_settings().send(fcm_message).outcome is DeliveryOutcome.CONFIG_ERROR
