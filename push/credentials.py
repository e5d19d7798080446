"""Where the sender's OAuth credentials come from: a service account, or the emulator's stand-in."""

import json
from pathlib import Path

from google.oauth2 import service_account

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
"""The OAuth scope FCM HTTP v1 asks for."""

EMULATOR_TOKEN = "owner"  # noqa: S105 - not a secret: the emulator takes any bearer token
"""The bearer token the stand-in credentials present; the emulator takes any non-empty one."""


class CredentialsError(Exception):
    """The configured credentials cannot be loaded or refreshed: a configuration problem."""


class EmulatorCredentials:
    """Credentials for the local FCM emulator, which checks only that a bearer token is sent.

    pyfcm needs ``project_id``, ``refresh(request)`` and ``token``; ``valid`` and
    ``expired`` complete the google-auth shape for anyone who asks.
    """

    def __init__(self, project_id: str) -> None:
        """Stand in for a service account of ``project_id``."""
        self.project_id = project_id
        self.token: str | None = None

    def refresh(self, request: object) -> None:
        """Issue the fixed emulator token without any network call."""
        self.token = EMULATOR_TOKEN

    @property
    def valid(self) -> bool:
        """True once refreshed."""
        return self.token is not None

    @property
    def expired(self) -> bool:
        """Never: the emulator's token does not expire."""
        return False


def service_account_from_json(text: str, *, source: str) -> service_account.Credentials:
    """Load service-account credentials from the key file's JSON text.

    ``source`` names where the text came from, for the error; the text itself never
    appears in an error, since it holds a private key.
    """
    try:
        info = json.loads(text)
    except json.JSONDecodeError as err:
        raise CredentialsError(
            f"{source} is not valid JSON (line {err.lineno}, column {err.colno})"
        ) from None  # the decode error holds the whole text, private key included
    if not isinstance(info, dict):
        raise CredentialsError(f"{source} is not a JSON object")
    if info.get("type", "service_account") != "service_account":
        raise CredentialsError(
            f"{source} holds {info.get('type')!r} credentials, not a service account"
        )
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=[FCM_SCOPE])
    except (ValueError, KeyError, TypeError) as err:
        raise CredentialsError(f"{source} is not a usable service account: {err}") from err


def service_account_from_file(path: str) -> service_account.Credentials:
    """Load service-account credentials from a key file on disk."""
    source = f"GOOGLE_APPLICATION_CREDENTIALS file {path!r}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise CredentialsError(f"{source} cannot be read: {reason}") from err
    return service_account_from_json(text, source=source)
