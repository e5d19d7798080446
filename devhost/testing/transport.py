"""HTTP without a network port: the host's front end on a Unix socket of its own.

The host serves the app's HTTP functions and the durable management API on a socket in a
fresh private folder. Requests from the test and the calls the SDK's durable client makes
from inside the app's functions both travel over it, as real HTTP through the same front
end (routing, auth levels, body limits) a port would reach.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from devhost.http.server import UNIX_SOCKET_BASE_URL
from devhost.testing.response import Response

__all__ = ["SocketFolder", "UnixHttp"]

SOCKET_NAME = "http.sock"
# Generous, for a loaded machine: no request to a host that answers takes this long.
REQUEST_TIMEOUT_SECONDS = 300.0


class SocketFolder:
    """A private temporary folder holding the host's socket; removed by :meth:`remove`."""

    def __init__(self) -> None:
        """Create the folder (mode 0700, as ``mkdtemp`` makes it)."""
        self.path = Path(tempfile.mkdtemp(prefix="durable-test-host-"))

    @property
    def socket(self) -> str:
        """The socket's path."""
        return str(self.path / SOCKET_NAME)

    def remove(self) -> None:
        """Delete the folder and the socket in it."""
        shutil.rmtree(self.path, ignore_errors=True)


def new_session(socket: str) -> aiohttp.ClientSession:
    """An aiohttp session whose every request goes to the Unix socket ``socket``."""
    return aiohttp.ClientSession(
        connector=aiohttp.UnixConnector(path=socket),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))


def _url(path: str) -> URL:
    """The URL for ``path`` (``/api/...``), or ``path`` itself when it is already one of
    this host's URLs (what the app put in a ``Location`` header, say)."""
    if path.startswith(UNIX_SOCKET_BASE_URL):
        return URL(path)
    if "://" in path:
        raise ValueError(f"{path!r} is not a URL of this host (they start with "
                         f"{UNIX_SOCKET_BASE_URL}); pass the path, e.g. '/api/...'")
    if not path.startswith("/"):
        raise ValueError(f"the path {path!r} must start with '/', e.g. '/api/...'")
    return URL(UNIX_SOCKET_BASE_URL + path, encoded="%" in path)


class UnixHttp:
    """Requests to the host's front end over its socket."""

    def __init__(self, socket: str) -> None:
        """Talk to the front end listening on ``socket``."""
        self.session = new_session(socket)

    async def request(self, method: str, path: str, *, json: Any = None,
                      data: bytes | str | None = None,
                      headers: Mapping[str, str] | None = None,
                      params: Mapping[str, str] | None = None) -> Response:
        """Send one request and read the whole answer."""
        if json is not None and data is not None:
            raise ValueError("pass json= or data=, not both")
        async with self.session.request(method.upper(), _url(path), json=json, data=data,
                                        headers=dict(headers or {}),
                                        params=dict(params or {})) as answer:
            content = await answer.read()
            return Response(answer.status, CIMultiDictProxy(answer.headers.copy()), content)

    async def close(self) -> None:
        """Close the session."""
        await self.session.close()
