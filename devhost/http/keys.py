"""The host's access keys and the Azure Functions rules for checking them.

Three keys, as in Azure: the function key (``function``-level routes), the master key
(everything, including ``admin`` routes) and the durable extension's system key (the
``code=`` the management URLs carry). They are generated once and kept in
``<app>/.local/keys.json`` (folder 0700, file 0600, git-ignored) so URLs and clients keep
working across restarts. The ``LOCAL_FUNCTION_KEY`` setting, when set, replaces the stored
function key. Keys never appear in a repr or a log line.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devhost.app.settings import HostSettings
from devhost.errors import HostError

__all__ = ["FUNCTION_KEY_SETTING", "KEY_HEADER", "KEY_QUERY", "HostKeys", "KeyFileError",
           "presented_key"]

FUNCTION_KEY_SETTING = "LOCAL_FUNCTION_KEY"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
KEYS_DIR = ".local"
KEYS_FILE = "keys.json"

_FIELDS = {"functionKey": "function_key", "masterKey": "master_key", "systemKey": "system_key"}


class KeyFileError(HostError):
    """``.local/keys.json`` exists but cannot be read as the host's keys."""


def _new_key() -> str:
    """A fresh random key (256 bits, URL-safe so it can sit in a query string)."""
    return secrets.token_urlsafe(32)


def _same(presented: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not leak a key's prefix."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key a request carries: the ``x-functions-key`` header, else the ``code`` query."""
    header = headers.get(KEY_HEADER)
    if header:
        return header
    return query.get(KEY_QUERY) or None


@dataclass(frozen=True)
class HostKeys:
    """The function, master and system keys; ``allows*`` apply Azure's rules."""

    function_key: str = field(repr=False)
    master_key: str = field(repr=False)
    system_key: str = field(repr=False)

    @classmethod
    def load(cls, app_dir: Path, function_key: str | None = None) -> HostKeys:
        """The app's stored keys, generating and storing missing ones first.

        ``function_key`` (the ``LOCAL_FUNCTION_KEY`` setting) replaces the stored one when
        non-empty. Raises ``KeyFileError`` when the key file is unreadable.
        """
        stored = _load_or_create(Path(app_dir) / KEYS_DIR)
        keys = cls(**{attr: stored[name] for name, attr in _FIELDS.items()})
        if function_key:
            keys = cls(function_key, keys.master_key, keys.system_key)
        return keys

    @classmethod
    def for_settings(cls, settings: HostSettings) -> HostKeys:
        """``load`` for the settings' app folder, honouring ``LOCAL_FUNCTION_KEY``."""
        return cls.load(settings.app_dir, settings.get(FUNCTION_KEY_SETTING))

    def allows(self, auth_level: str, presented: str | None) -> bool:
        """Whether a request with key ``presented`` may call a route of ``auth_level``.

        ``anonymous``: anyone; ``function``: function or master key; ``admin``: master key.
        An unknown level is refused.
        """
        level = auth_level.lower()
        if level == "anonymous":
            return True
        if not presented:
            return False
        if level == "function":
            return _same(presented, self.function_key) or _same(presented, self.master_key)
        if level == "admin":
            return _same(presented, self.master_key)
        return False

    def allows_system(self, presented: str | None) -> bool:
        """Whether ``presented`` opens the durable extension's APIs (system or master key)."""
        if not presented:
            return False
        return _same(presented, self.system_key) or _same(presented, self.master_key)


def _read_keys(path: Path) -> dict[str, str]:
    """The stored keys, or ``KeyFileError``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise KeyFileError(f"cannot read the host keys from {path}: {err}; delete the file "
                           "to generate new keys") from err
    if not isinstance(document, dict):
        raise KeyFileError(f"{path} must hold a JSON object; delete it to generate new keys")
    return {name: value for name, value in document.items()
            if name in _FIELDS and isinstance(value, str) and value}


def _write_new(path: Path, keys: dict[str, str]) -> bool:
    """Create ``path`` with ``keys`` (mode 0600) unless it exists; False when it did.

    Written to a private temporary file and then hard-linked into place, so a reader never
    sees half a file and two hosts starting at once cannot overwrite each other's keys.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(keys, out, indent=2)
            out.write("\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _load_or_create(folder: Path) -> dict[str, str]:
    """The keys in ``folder/keys.json``, adding any that are missing."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / KEYS_FILE
    for _ in range(3):
        if path.exists():
            # Keep the secrets private even if the file was copied in with looser modes.
            path.chmod(0o600)
            keys = _read_keys(path)
            if len(keys) == len(_FIELDS):
                return keys
            # An older or hand-edited file: keep what it has, add what it lacks.
            keys = {name: keys.get(name) or _new_key() for name in _FIELDS}
            path.unlink()
        else:
            keys = {name: _new_key() for name in _FIELDS}
        if _write_new(path, keys):
            return keys
    raise KeyFileError(f"could not create {path}: another process keeps replacing it")
