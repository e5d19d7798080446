"""The device simulator: the emulator's root page, a phone's view of the pushes it got.

``GET /?token=...`` shows one device: its notifications newest first (title, body,
``data.stage``, time), refreshed every second from ``/emulator/messages``; a form that places
an order for that token through the app (``POST {app}/orders``, a cross-origin call the
app's host must allow through ``Host.CORS``); and the emulator's fault switches. The app's
API base comes from the emulator (``--app-url``), or from ``?app=`` on the page.
"""

from html import escape
from pathlib import Path

from aiohttp import web

__all__ = ["DEFAULT_APP_URL", "STATIC_FILES", "simulator_page", "static_file"]

DEFAULT_APP_URL = "http://127.0.0.1:7071/api"
STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"simulator.js": "text/javascript", "simulator.css": "text/css"}
_APP_URL_MARK = "{{app_url}}"


def simulator_page(app_url: str) -> web.Response:
    """The page, with the app's API base filled in."""
    html = (STATIC / "simulator.html").read_text(encoding="utf-8")
    return web.Response(text=html.replace(_APP_URL_MARK, escape(app_url, quote=True)),
                        content_type="text/html", headers={"Cache-Control": "no-store"})


def static_file(name: str) -> web.Response:
    """The page's script or stylesheet (404 for any other name)."""
    if name not in STATIC_FILES:
        return web.json_response({"error": f"no static file {name!r}"}, status=404)
    return web.Response(body=(STATIC / name).read_bytes(), content_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})
