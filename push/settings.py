"""The environment settings that decide how, and whether, pushes are sent."""

import math
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TIMEOUT_SECONDS = 10.0
"""How long one request to FCM may wait for an answer unless ``FCM_TIMEOUT_SECONDS`` says."""

DEFAULT_EMULATOR_PROJECT = "demo-project"
"""The project id used with the emulator when ``FCM_PROJECT_ID`` is unset."""


class SettingsError(ValueError):
    """A push setting has a value that cannot be used."""


def _text(env: Mapping[str, str], name: str) -> str | None:
    """The setting's value, with an empty or blank value counted as unset."""
    value = env.get(name, "").strip()
    return value or None


def _timeout(env: Mapping[str, str]) -> float:
    """``FCM_TIMEOUT_SECONDS`` as a positive finite number of seconds."""
    raw = _text(env, "FCM_TIMEOUT_SECONDS")
    if raw is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise SettingsError(f"FCM_TIMEOUT_SECONDS={raw!r} is not a number") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise SettingsError(f"FCM_TIMEOUT_SECONDS={raw!r} must be a positive number of seconds")
    return seconds


def _emulator_host(env: Mapping[str, str]) -> str | None:
    """``FCM_EMULATOR_HOST`` as ``host:port``, tolerating a leading ``http://``."""
    raw = _text(env, "FCM_EMULATOR_HOST")
    if raw is None:
        return None
    host = raw.removeprefix("http://").rstrip("/")
    if not host or "/" in host:
        raise SettingsError(f"FCM_EMULATOR_HOST={raw!r} is not host:port")
    return host


@dataclass(frozen=True)
class PushSettings:
    """The push settings as read from the environment (hashable, so clients can be cached)."""

    project_id: str | None = None
    credentials_file: str | None = None
    credentials_json: str | None = None
    emulator_host: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PushSettings":
        """Read the settings; raise ``SettingsError`` for a value that cannot be used."""
        return cls(
            project_id=_text(env, "FCM_PROJECT_ID"),
            credentials_file=_text(env, "GOOGLE_APPLICATION_CREDENTIALS"),
            credentials_json=_text(env, "FCM_SERVICE_ACCOUNT_JSON"),
            emulator_host=_emulator_host(env),
            timeout_seconds=_timeout(env),
        )

    @property
    def configured(self) -> bool:
        """True when pushes are meant to go somewhere: a project or an emulator is named."""
        return self.project_id is not None or self.emulator_host is not None

    def __repr__(self) -> str:
        # The JSON setting holds a private key: never let it reach a log line.
        secret = "<set>" if self.credentials_json else None
        return (
            f"PushSettings(project_id={self.project_id!r}, "
            f"credentials_file={self.credentials_file!r}, credentials_json={secret}, "
            f"emulator_host={self.emulator_host!r}, timeout_seconds={self.timeout_seconds!r})"
        )
