"""An app folder's host settings from ``host.json`` and ``local.settings.json``, as Core Tools.

From ``host.json`` the host needs the durable task hub name (``extensions.durableTask.hubName``,
default ``TestHubName``, ``%Setting%`` references resolved), the HTTP route prefix
(``extensions.http.routePrefix``, default ``api``) and the Durable extension's concurrency
throttles (``extensions.durableTask.maxConcurrentActivityFunctions`` and
``maxConcurrentOrchestratorFunctions``; an app setting
``AzureFunctionsJobHost__extensions__durableTask__<name>`` overrides either, as in Azure).
From the app settings it reads the Python worker's ``PYTHON_THREADPOOL_THREAD_COUNT``, and
from ``local.settings.json``'s ``Host`` section ``CORS`` and ``CORSCredentials`` (as Core Tools).
``local.settings.json`` is optional; its ``Values`` become app settings, but an environment
variable of the same name wins, and applying them never overwrites the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from devhost.engine.versioning import (
    NO_VERSIONING,
    FailureStrategy,
    MatchStrategy,
    VersionPolicy,
)
from devhost.errors import AppLoadError
from devhost.http.cors import CorsPolicy

__all__ = ["DEFAULT_HUB_NAME", "DEFAULT_ROUTE_PREFIX", "HOST_JSON_OVERRIDE", "MAX_ACTIVITIES",
           "MAX_ORCHESTRATORS", "THREAD_COUNT", "HostSettings", "apply_values",
           "default_max_concurrent", "load_settings"]

DEFAULT_HUB_NAME = "TestHubName"
DEFAULT_ROUTE_PREFIX = "api"
HOST_JSON = "host.json"
LOCAL_SETTINGS_JSON = "local.settings.json"

# Azure Storage task hubs name tables and queues after the hub: letters and digits,
# starting with a letter, 3 to 45 characters.
_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")
_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
_DIGITS = re.compile(r"[0-9]+")

# The Durable extension's throttles (host.json, extensions.durableTask) and the app setting
# that overrides a host.json value in Azure ("AzureFunctionsJobHost__" + path, "__" for ".").
MAX_ACTIVITIES = "maxConcurrentActivityFunctions"
MAX_ORCHESTRATORS = "maxConcurrentOrchestratorFunctions"
HOST_JSON_OVERRIDE = "AzureFunctionsJobHost__extensions__durableTask__"
# The Python worker's pool for sync functions (async ones run on its event loop).
THREAD_COUNT = "PYTHON_THREADPOOL_THREAD_COUNT"


def default_max_concurrent() -> int:
    """Both throttles' default for one instance: 10 x the machine's processors.

    The host.json reference for Durable Functions 2.x gives, per host instance, 10
    activities and 5 orchestrators on the Consumption plan, and 10X the number of
    processors for both on Dedicated/Premium plans ("host.json settings for Durable
    Functions", maxConcurrentActivityFunctions / maxConcurrentOrchestratorFunctions; also
    "Performance and scale in Durable Functions", concurrency throttles). A local host is one
    dedicated machine, and Core Tools runs the extension with that same default.
    """
    return 10 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class HostSettings:
    """What the host reads from an app folder before loading the app."""

    app_dir: Path
    hub_name: str = DEFAULT_HUB_NAME
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    # local.settings.json Values as written (may hold secrets: kept out of repr).
    values: Mapping[str, str] = field(default_factory=dict, repr=False)
    # At most this many activities run at once (each holds a slot until it ends, async or not).
    max_concurrent_activities: int = field(default_factory=default_max_concurrent)
    # At most this many orchestration episodes replay at once.
    max_concurrent_orchestrators: int = field(default_factory=default_max_concurrent)
    # Threads for sync activities; None: the worker passes none to ThreadPoolExecutor, so
    # Python's default applies (min(32, cpu count + 4) on Python 3.9-3.12).
    thread_count: int | None = None
    # Orchestration versioning (extensions.durableTask.defaultVersion and its strategies).
    versions: VersionPolicy = NO_VERSIONING
    # Host.CORS / Host.CORSCredentials of local.settings.json; None: no CORS answers at all.
    cors: CorsPolicy | None = None

    def get(self, name: str, environ: Mapping[str, str] | None = None) -> str | None:
        """An app setting: the environment variable first, then ``Values``; None if neither."""
        env = os.environ if environ is None else environ
        if name in env:
            return env[name]
        return self.values.get(name)


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or ``AppLoadError`` naming the file and the problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as err:
        raise AppLoadError(f"{path} is not valid JSON: {err}") from err
    except OSError as err:
        raise AppLoadError(f"cannot read {path}: {err}") from err
    if not isinstance(document, dict):
        raise AppLoadError(f"{path} must hold a JSON object")
    return document


def _setting_text(name: str, value: object, path: Path) -> str:
    """A ``Values`` entry as an environment string (Core Tools takes scalars only)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise AppLoadError(f"{path}: Values.{name} must be a string, number or boolean")


def _read_values(app_dir: Path) -> dict[str, str]:
    """``local.settings.json`` Values, or {} when the file is absent."""
    path = app_dir / LOCAL_SETTINGS_JSON
    if not path.exists():
        return {}
    document = _read_json(path)
    if document.get("IsEncrypted") is True:
        raise AppLoadError(f"{path} is encrypted; decrypt it (func settings decrypt) first")
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise AppLoadError(f"{path}: Values must be a JSON object")
    return {str(name): _setting_text(name, value, path) for name, value in values.items()}


def _read_cors(app_dir: Path) -> CorsPolicy | None:
    """``Host.CORS`` and ``Host.CORSCredentials`` of ``local.settings.json``, if set.

    Core Tools binds them to a string and a bool (``HostStartSettings``); other JSON types
    are refused here rather than guessed at.
    """
    path = app_dir / LOCAL_SETTINGS_JSON
    if not path.exists():
        return None
    host = _read_json(path).get("Host") or {}
    if not isinstance(host, dict):
        raise AppLoadError(f"{path}: Host must be a JSON object")
    origins = host.get("CORS") or ""
    credentials = host.get("CORSCredentials", False)
    if not isinstance(origins, str):
        raise AppLoadError(f"{path}: Host.CORS must be a string of origins separated by commas")
    if isinstance(credentials, str) and credentials.lower() in ("true", "false"):
        credentials = credentials.lower() == "true"
    if not isinstance(credentials, bool):
        raise AppLoadError(f"{path}: Host.CORSCredentials must be true or false")
    return CorsPolicy.from_setting(origins, credentials, f"{path}: Host.CORS")


def _section(document: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """A nested object of ``host.json`` ({} when any level is missing)."""
    current: Any = document
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current if isinstance(current, Mapping) else {}


def _positive_int(value: object) -> int | None:
    """``value`` as an integer of at least 1 (a JSON integer or its text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if number >= 1 else None


def _throttle(durable: Mapping[str, Any], name: str, host_path: Path,
              setting: Callable[[str], str | None]) -> int:
    """A durableTask throttle: the overriding app setting, else host.json, else the default.

    Refuses what the Durable extension refuses at start ("must be a positive integer").
    """
    override = HOST_JSON_OVERRIDE + name
    raw: object = setting(override)
    where = f"app setting {override}"
    if raw is None:
        raw = durable.get(name)
        where = f"{host_path}: extensions.durableTask.{name}"
    if raw is None:
        return default_max_concurrent()
    number = _positive_int(raw)
    if number is None:
        raise AppLoadError(f"{where} must be a positive integer, not {raw!r}")
    return number


def _thread_count(setting: Callable[[str], str | None]) -> int | None:
    """``PYTHON_THREADPOOL_THREAD_COUNT``: None when unset (Python's default pool size)."""
    raw = setting(THREAD_COUNT)
    if raw is None or not raw.strip():
        return None
    number = _positive_int(raw)
    if number is None:
        # The Python worker logs a warning and keeps its default; refused here so that
        # a typo does not go unnoticed locally.
        raise AppLoadError(f"app setting {THREAD_COUNT} must be a whole number of at least "
                           f"1, not {raw!r}")
    return number


def _versions(durable: Mapping[str, Any], host_path: Path) -> VersionPolicy:
    """``defaultVersion``, ``versionMatchStrategy`` and ``versionFailureStrategy``; the
    strategies are read as .NET binds enums (any case) and others are refused."""
    default = durable.get("defaultVersion") or ""
    if not isinstance(default, str):
        raise AppLoadError(f"{host_path}: extensions.durableTask.defaultVersion must be a string")

    def strategy(name: str, kind: type[MatchStrategy] | type[FailureStrategy],
                 fallback: str) -> str:
        raw = durable.get(name, fallback)
        names = {member.value.lower(): member.value for member in kind}
        if not isinstance(raw, str) or raw.lower() not in names:
            raise AppLoadError(f"{host_path}: extensions.durableTask.{name} must be one of "
                               f"{', '.join(names.values())}, not {raw!r}")
        return str(names[raw.lower()])

    return VersionPolicy(
        default,
        MatchStrategy(strategy("versionMatchStrategy", MatchStrategy, "CurrentOrOlder")),
        FailureStrategy(strategy("versionFailureStrategy", FailureStrategy, "Reject")))


def load_settings(app_dir: Path, environ: Mapping[str, str] | None = None) -> HostSettings:
    """Read ``host.json`` and ``local.settings.json`` of ``app_dir``.

    Raises ``AppLoadError`` for unreadable or malformed files, for a hub name Azure
    Storage would refuse and for concurrency settings that are no positive integers. A
    missing ``host.json`` gives the defaults.
    """
    app_dir = Path(app_dir).resolve()
    values = _read_values(app_dir)
    host_path = app_dir / HOST_JSON
    host = _read_json(host_path) if host_path.exists() else {}
    env = os.environ if environ is None else environ
    probe = HostSettings(app_dir, values=values)

    durable = _section(host, "extensions", "durableTask")
    raw_hub = durable.get("hubName") or DEFAULT_HUB_NAME
    if not isinstance(raw_hub, str):
        raise AppLoadError(f"{host_path}: extensions.durableTask.hubName must be a string")

    def resolve(found: re.Match[str]) -> str:
        # hubName may name an app setting, e.g. "%TaskHubName%", as in Azure.
        value = probe.get(found.group(1), env)
        if value is None:
            raise AppLoadError(f"{host_path}: hubName refers to app setting "
                               f"{found.group(1)!r}, which is not set")
        return value

    hub_name = _SETTING_REFERENCE.sub(resolve, raw_hub)
    if not _HUB_NAME.fullmatch(hub_name):
        raise AppLoadError(f"task hub name {hub_name!r} is invalid: use 3-45 letters and "
                           "digits, starting with a letter")

    prefix = _section(host, "extensions", "http").get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise AppLoadError(f"{host_path}: extensions.http.routePrefix must be a string")

    def setting(name: str) -> str | None:
        return probe.get(name, env)

    return HostSettings(
        app_dir, hub_name, prefix.strip("/"), MappingProxyType(values),
        max_concurrent_activities=_throttle(durable, MAX_ACTIVITIES, host_path, setting),
        max_concurrent_orchestrators=_throttle(durable, MAX_ORCHESTRATORS, host_path, setting),
        thread_count=_thread_count(setting),
        versions=_versions(durable, host_path),
        cors=_read_cors(app_dir))


def apply_values(settings: HostSettings,
                 environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Export ``Values`` into the environment the app reads, never overwriting a variable.

    Returns the names it set, sorted.
    """
    env = os.environ if environ is None else environ
    applied = []
    for name, value in settings.values.items():
        if name not in env:
            env[name] = value
            applied.append(name)
    return sorted(applied)
