"""Pick and build the sender the settings call for, once per distinct settings."""

import functools
import os
from collections.abc import Mapping
from typing import Any

from push.client import FCM_ENDPOINT_BASE, SingleShotFCM
from push.credentials import (
    CredentialsError,
    EmulatorCredentials,
    service_account_from_file,
    service_account_from_json,
)
from push.fallback import MisconfiguredSender, NotConfiguredSender
from push.fcm_sender import FcmSender
from push.sender import PushSender
from push.settings import DEFAULT_EMULATOR_PROJECT, PushSettings, SettingsError
from push.traced import TracedSender

# One per process, so "push is not configured" is warned about once, not once per send.
_NOT_CONFIGURED = TracedSender(NotConfiguredSender())


def sender_from_settings(env: Mapping[str, str] | None = None) -> PushSender:
    """Return the sender for ``env`` (default: ``os.environ``).

    Without ``FCM_PROJECT_ID`` or ``FCM_EMULATOR_HOST`` pushes are skipped
    (``NOT_CONFIGURED``); unusable settings give a sender that answers ``CONFIG_ERROR``
    with the reason. Never raises: a push setting must not stop the app from starting.
    Each send is a span while telemetry is on (``push.traced``).
    """
    try:
        settings = PushSettings.from_env(os.environ if env is None else env)
    except SettingsError as err:
        return TracedSender(MisconfiguredSender(str(err)))
    if not settings.configured:
        return _NOT_CONFIGURED
    return _sender_for(settings)


@functools.lru_cache(maxsize=16)
def _sender_for(settings: PushSettings) -> PushSender:
    """Build the client for ``settings`` once; later calls with equal settings reuse it."""
    try:
        credentials, project_id, endpoint_base = _connection(settings)
    except CredentialsError as err:
        return TracedSender(MisconfiguredSender(str(err)))
    client = SingleShotFCM(
        credentials=credentials,
        project_id=project_id,
        timeout_seconds=settings.timeout_seconds,
        endpoint_base=endpoint_base,
    )
    return TracedSender(FcmSender(client, timeout_seconds=settings.timeout_seconds))


def _connection(settings: PushSettings) -> tuple[Any, str, str]:
    """Return (credentials, project id, endpoint base) for configured settings."""
    if settings.emulator_host is not None:
        project_id = settings.project_id or DEFAULT_EMULATOR_PROJECT
        endpoint_base = f"http://{settings.emulator_host}/v1/projects"
        return EmulatorCredentials(project_id), project_id, endpoint_base
    if settings.credentials_json is not None:
        credentials = service_account_from_json(
            settings.credentials_json, source="FCM_SERVICE_ACCOUNT_JSON"
        )
    elif settings.credentials_file is not None:
        credentials = service_account_from_file(settings.credentials_file)
    else:
        raise CredentialsError(
            "FCM_PROJECT_ID is set but neither FCM_SERVICE_ACCOUNT_JSON nor "
            "GOOGLE_APPLICATION_CREDENTIALS names a service account"
        )
    # configured and no emulator: the project id is set
    assert settings.project_id is not None
    return credentials, settings.project_id, FCM_ENDPOINT_BASE
