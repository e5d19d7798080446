"""The dashboard's requests under ``/_devhost/``: pages, static files, actions.

Every answer carries headers that keep it to its own pages: a content security policy that
loads only the dashboard's own files and refuses framing, no caching, no referrer to other
origins. Nothing here answers CORS, so no other origin can read a page (and its action token).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from devhost.dashboard.actions import ACTIONS, NOTICES, ActionFailed, run_action
from devhost.dashboard.guard import DashboardGuard
from devhost.dashboard.instance_page import render_instance
from devhost.dashboard.list_page import render_list
from devhost.dashboard.listing import BadFilter, InstanceFilter, list_instances
from devhost.dashboard.markup import BASE, instance_url, list_url, page
from devhost.engine.client import DurableClient
from devhost.errors import StorageUnavailable
from devhost.http.durable_binding import RPC_PREFIX
from devhost.http.keys import HostKeys

__all__ = ["DASHBOARD_PATH", "Dashboard"]

log = logging.getLogger(__name__)

DASHBOARD_PATH = BASE.rstrip("/")
MAX_FORM_BYTES = 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; "
                                "style-src-attr 'unsafe-inline'; script-src 'self'; "
                                "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a form post says "Origin: null".
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _html(status: int, body: str) -> web.Response:
    """An HTML answer with the dashboard's headers."""
    return web.Response(status=status, text=body, content_type="text/html", headers=_HEADERS)


def _redirect(location: str) -> web.Response:
    """303 to another dashboard page."""
    return web.Response(status=303, headers={**_HEADERS, "Location": location})


class Dashboard:
    """The host's own pages for one task hub, acting through its durable client."""

    def __init__(self, client: DurableClient, orchestrator_names: Sequence[str],
                 keys: HostKeys, loopback_only: bool, hub_name: str) -> None:
        """Serve ``client``'s instances; ``loopback_only`` opens reading without a key."""
        self._client = client
        self._names = list(orchestrator_names)
        self._hub_name = hub_name
        self.guard = DashboardGuard(keys, loopback_only)

    @staticmethod
    def owns(raw_path: str) -> bool:
        """Whether a request's raw path is the dashboard's (the durable client's secret RPC
        base shares the ``/_devhost/`` prefix and is not)."""
        if raw_path.startswith(RPC_PREFIX):
            return False
        return raw_path == DASHBOARD_PATH or raw_path.startswith(BASE)

    def _message(self, status: int, title: str, message: str) -> web.Response:
        """A page that only says ``message``."""
        return _html(status, page(title, self._hub_name, "", error=message))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request for a path under ``/_devhost``."""
        raw = request.rel_url.raw_path
        if raw == DASHBOARD_PATH:
            return _redirect(BASE)
        rest = raw[len(BASE):]
        if rest.startswith("static/") and request.method in ("GET", "HEAD"):
            return self._static(rest[len("static/"):])
        refused = self.guard.refuse_read(request)
        if refused is not None:
            return self._message(403, "Refused", refused)
        if request.method == "GET" and self.guard.wants_session(request):
            query = {k: v for k, v in request.query.items() if k != "code"}
            response = _redirect(list_url(query) if rest == "" else BASE + rest)
            self.guard.start_session(response, BASE)
            return response
        parts = rest.split("/")
        try:
            if rest == "":
                return await self._get_only(request) or await self._list(request)
            if len(parts) == 2 and parts[0] == "instances":
                return await self._get_only(request) or await self._instance(
                    unquote(parts[1]), notice=NOTICES.get(request.query.get("done", ""), ""))
            if len(parts) == 3 and parts[0] == "instances" and parts[2] in ACTIONS:
                if request.method != "POST":
                    return self._message(405, "Method not allowed", "actions are POSTs")
                return await self._act(request, unquote(parts[1]), parts[2])
        except StorageUnavailable as error:
            return self._message(503, "Storage unavailable",
                                 f"the task hub's storage cannot be reached: {error}")
        return self._message(404, "Not found", "the dashboard has no such page")

    async def _get_only(self, request: web.Request) -> web.Response | None:
        """405 for a page asked with another verb than GET or HEAD."""
        if request.method in ("GET", "HEAD"):
            return None
        return self._message(405, "Method not allowed", "pages are read with GET")

    @staticmethod
    def _static(name: str) -> web.Response:
        """The dashboard's stylesheet and script; nothing else is served."""
        if name not in _STATIC_TYPES:
            return web.Response(status=404, headers=_HEADERS)
        return web.Response(body=(STATIC / name).read_bytes(), content_type=_STATIC_TYPES[name],
                            headers={**_HEADERS, "Cache-Control": "no-cache"})

    async def _list(self, request: web.Request) -> web.Response:
        """The instance list for the filters in the query."""
        try:
            wanted = InstanceFilter.from_query(request.query)
        except BadFilter as error:
            return _html(400, render_list(self._hub_name, self._names, InstanceFilter(), None,
                                          error=str(error)))
        result = await list_instances(self._client, wanted)
        purged = request.query.get("purged", "")
        return _html(200, render_list(self._hub_name, self._names, wanted, result,
                                      notice=f"Purged {purged}." if purged else ""))

    async def _instance(self, instance_id: str, status: int = 200, notice: str = "",
                        error: str = "") -> web.Response:
        """One instance's page (404 when there is none, whatever else went wrong)."""
        record = await self._client.get_instance(instance_id)
        if record is None:
            return self._message(404, "No such instance",
                                 error or f"there is no instance {instance_id!r}")
        events = await self._client.get_history(instance_id)
        return _html(status, render_instance(self._hub_name, record, events, self.guard.token,
                                             notice, error))

    async def _act(self, request: web.Request, instance_id: str,
                   action: str) -> web.StreamResponse:
        """Check the request, take the action, and show where it leaves the instance."""
        if request.content_type != "application/x-www-form-urlencoded":
            return self._message(415, "Unsupported", "actions are sent by the page's forms")
        if (request.content_length or 0) > MAX_FORM_BYTES:
            return self._message(413, "Too large", "the form is over 1 MiB")
        body = await request.read()
        if len(body) > MAX_FORM_BYTES:
            return self._message(413, "Too large", "the form is over 1 MiB")
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return self._message(400, "Bad form", "the form is not UTF-8")
        refused = self.guard.refuse_write(request, form)
        if refused is not None:
            log.warning("dashboard action %s refused: %s", action, refused)
            return self._message(403, "Refused", refused)
        try:
            result = await run_action(self._client, action, instance_id, form)
        except ActionFailed as failure:
            return await self._instance(instance_id, 409, error=str(failure))
        log.info("dashboard: %s on %s", action, instance_id)
        if result.instance_id is None:
            return _redirect(list_url({"purged": instance_id}))
        return _redirect(instance_url(result.instance_id) + "?done=" + action)
