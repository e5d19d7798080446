"""The process-wide state hosting an app changes, and how it is put back afterwards.

Hosting an app exports its settings into ``os.environ``, imports ``function_app`` and the
app's own packages (with the app folder first on ``sys.path``), and gives the durable SDK's
process-wide aiohttp session to this event loop. A test process hosts many apps in turn,
so each host takes a snapshot first and restores it when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import aiohttp
from azure.durable_functions.models.utils import http_utils

from devhost.app.loader import APP_MODULE, import_state_kept

__all__ = ["ProcessSnapshot", "forget_sdk_session", "process_state_kept", "use_sdk_session"]


def forget_sdk_session() -> None:
    """Drop the SDK's process-wide session and lock, which may belong to another loop.

    A session made on a loop that has ended cannot be used (or closed) from this one; the
    SDK makes a new one on its next call, on the running loop.
    """
    http_utils._client_session = None
    http_utils._session_lock = asyncio.Lock()


def use_sdk_session(session: aiohttp.ClientSession) -> None:
    """Make the SDK's client send every call through ``session`` (with a fresh lock)."""
    http_utils._client_session = session
    http_utils._session_lock = asyncio.Lock()


@contextlib.contextmanager
def process_state_kept(environment: Mapping[str, str] | None = None) -> Iterator[None]:
    """Set ``environment`` for the block; afterwards restore env, sys.path and function_app."""
    saved_env = dict(os.environ)
    os.environ.update(environment or {})
    try:
        with import_state_kept():
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def _origin(module: object) -> Path | None:
    """The file a module was loaded from, if any."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    try:
        return Path(file).resolve()
    except (OSError, ValueError):
        return None


class ProcessSnapshot:
    """``os.environ``, ``sys.path``, the imported modules and the SDK's session, as they
    were when taken; :meth:`restore` puts them back.

    Restoring drops the modules imported meanwhile from the app folder (its
    ``function_app`` and the packages that came with it) so the next host imports its own,
    but keeps every module of a package that was imported before (the test's own imports of
    the app's modules, and this host's) and everything from outside the folder.
    """

    def __init__(self, app_dir: Path) -> None:
        """Take the snapshot for hosting the app in ``app_dir``."""
        self._app_dir = app_dir.resolve()
        self._environment = Path(sys.prefix).resolve()
        self._environ = dict(os.environ)
        self._path = list(sys.path)
        self._modules = set(sys.modules)
        self._app_module = sys.modules.get(APP_MODULE)
        self._top_levels = {name.partition(".")[0] for name in self._modules}
        self._session = http_utils._client_session
        self._session_lock = http_utils._session_lock

    def _imported_from_app(self, name: str) -> bool:
        """Whether module ``name`` came in meanwhile, from the app folder, as a new package."""
        if name in self._modules or name.partition(".")[0] in self._top_levels:
            return False
        origin = _origin(sys.modules.get(name))
        # Installed packages stay, even when the environment lives inside the app folder.
        return (origin is not None and origin.is_relative_to(self._app_dir)
                and not origin.is_relative_to(self._environment))

    def restore(self) -> None:
        """Put everything back as it was when the snapshot was taken."""
        os.environ.clear()
        os.environ.update(self._environ)
        sys.path[:] = self._path
        for name in [name for name in sys.modules if self._imported_from_app(name)]:
            del sys.modules[name]
        if self._app_module is None:
            sys.modules.pop(APP_MODULE, None)
        else:
            sys.modules[APP_MODULE] = self._app_module
        http_utils._client_session = self._session
        http_utils._session_lock = self._session_lock
