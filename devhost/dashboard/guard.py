"""Who may see the dashboard and drive its actions.

* Reading: open when the host listens on loopback only, and then only under a loopback
  ``Host`` (``127.0.0.1``, ``localhost``, ``[::1]`` with the host's port), so a page whose
  name was rebound to 127.0.0.1 gets nothing. On any other address the master key is needed:
  ``x-functions-key`` or ``?code=``; a page opened with ``?code=`` gets a session cookie
  for this run (HttpOnly, SameSite=Strict) so the key leaves the address bar.
* Acting (every POST): also the per-run token each page carries in its forms, and an
  ``Origin`` equal to the dashboard's own. A page of another origin in the same browser can
  neither read the token (the dashboard answers no CORS) nor pass the origin check.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Mapping

from aiohttp import web

from devhost.http.keys import HostKeys, presented_key

__all__ = ["SESSION_COOKIE", "TOKEN_FIELD", "DashboardGuard", "listens_on_loopback_only"]

TOKEN_FIELD = "_token"  # noqa: S105 - a form field name, not a secret
SESSION_COOKIE = "devhost-dashboard"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def listens_on_loopback_only(bind_host: str) -> bool:
    """Whether a server bound to ``bind_host`` is reachable from this machine only."""
    if bind_host == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind_host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same(presented: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def _local_port(request: web.Request) -> int | None:
    """The port the request came in on."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return int(sockname[1]) if sockname else None


class DashboardGuard:
    """Applies the rules above to one request; a refusal is an answer, None lets it pass."""

    def __init__(self, keys: HostKeys, loopback_only: bool) -> None:
        """Guard a host with ``keys``; ``loopback_only`` opens reading without a key."""
        self._keys = keys
        self.loopback_only = loopback_only
        # Fresh every run: a page from an earlier run carries a token that no longer works.
        self.token = secrets.token_urlsafe(32)
        self._session = secrets.token_urlsafe(32)

    def _host_allowed(self, request: web.Request) -> bool:
        """A loopback-only host answers loopback names on its own port only."""
        if not self.loopback_only:
            return True
        port = _local_port(request)
        host = request.headers.get("Host", "")
        return host in {f"{name}:{port}" for name in _LOOPBACK_NAMES}

    def _has_key(self, request: web.Request) -> bool:
        """The master key presented, or this run's session cookie."""
        if self.loopback_only:
            return True
        key = presented_key(request.headers, request.query)
        if key is not None and _same(key, self._keys.master_key):
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and _same(cookie, self._session)

    def refuse_read(self, request: web.Request) -> str | None:
        """Why ``request`` may not see the dashboard, or None."""
        if not self._host_allowed(request):
            return "this dashboard answers only under 127.0.0.1, localhost or [::1]"
        if not self._has_key(request):
            return ("the host listens beyond loopback: open the dashboard with the master "
                    "key (?code= or x-functions-key)")
        return None

    def refuse_write(self, request: web.Request, form: Mapping[str, str]) -> str | None:
        """Why a state-changing ``request`` with ``form`` is refused, or None."""
        refused = self.refuse_read(request)
        if refused is not None:
            return refused
        origin = request.headers.get("Origin")
        if origin is None or origin != f"http://{request.headers.get('Host', '')}":
            return "actions are taken only from the dashboard's own pages (Origin differs)"
        token = form.get(TOKEN_FIELD, "")
        if not token or not _same(token, self.token):
            return "the page's action token is missing or from an earlier run: reload it"
        return None

    def wants_session(self, request: web.Request) -> bool:
        """A page opened with the master key in ``?code=``: give it the session cookie."""
        key = request.query.get("code")
        return (not self.loopback_only and key is not None
                and _same(key, self._keys.master_key))

    def start_session(self, response: web.StreamResponse, path: str) -> None:
        """Set this run's session cookie on ``response``."""
        response.set_cookie(SESSION_COOKIE, self._session, path=path, httponly=True,
                            samesite="Strict")
