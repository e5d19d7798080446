"""The staff console: ``GET /api/staff`` and the two files it loads, served by the app itself.

The page is anonymous and holds no key: staff type the function key into it, and the page
keeps it in the tab's sessionStorage and sends it with each call to the app's own routes.
Everything the page needs comes from this route (no CDN), and its Content-Security-Policy
allows nothing else: no inline script, no other origin, no framing.
"""

import html
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from constants import STAFF_CONSOLE_FUNCTION, STAFF_CONSOLE_ROUTE
from http_triggers.responses import error_response

bp = df.Blueprint()

PAGES = Path(__file__).resolve().parent / "pages"
PAGE_TEMPLATE = Template((PAGES / "staff.html").read_text(encoding="utf-8"))
# The files the page loads, by the name in its URL, with their media types.
ASSETS: dict[str, tuple[bytes, str]] = {
    "console.js": ((PAGES / "console.js").read_bytes(), "text/javascript"),
    "console.css": ((PAGES / "console.css").read_bytes(), "text/css"),
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HTML_TYPE = "text/html"


def _headers(cache: str) -> dict[str, str]:
    """The hardening every answer of the console carries."""
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": cache,
    }


def page_paths(url: str) -> tuple[str, str]:
    """The page's own path and the API's path (where ``orders`` lives), from its URL.

    Taken from the request, so the page works under whatever route prefix the host uses.
    """
    page = urlsplit(url).path.rstrip("/")
    return page, page.rsplit("/", 1)[0]


def render_page(url: str) -> str:
    """The console's HTML for a request to ``url``."""
    page, api = page_paths(url)
    return PAGE_TEMPLATE.substitute(page=html.escape(page), api=html.escape(api))


@bp.function_name(STAFF_CONSOLE_FUNCTION)
@bp.route(route=STAFF_CONSOLE_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def staff_console(req: func.HttpRequest) -> func.HttpResponse:
    """The console page (no asset), or one of its files; 404 for any other name."""
    asset = req.route_params.get("asset")
    if not asset:
        return func.HttpResponse(render_page(req.url), status_code=200, mimetype=HTML_TYPE,
                                 charset="utf-8", headers=_headers("no-store"))
    found = ASSETS.get(asset)
    if found is None:
        expected = "expected one of " + ", ".join(ASSETS)
        return error_response(404, "no such file", [{"field": "asset", "message": expected}])
    body, mimetype = found
    return func.HttpResponse(body, status_code=200, mimetype=mimetype, charset="utf-8",
                             headers=_headers("no-cache"))
