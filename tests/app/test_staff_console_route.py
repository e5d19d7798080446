"""``GET /api/staff``: the console page and its two files, as the app serves them.

The page's behaviour is tested in Chromium (tests/browser/staff); these tests check what
the route answers: anonymous, no key in the page, everything from the app, hardened headers.
"""

import pytest

from http_triggers.staff import page_paths, render_page
from tests.support.local_host import HttpApi


@pytest.mark.parametrize(("url", "page", "api"), [
    ("http://127.0.0.1:7071/api/staff", "/api/staff", "/api"),
    ("http://127.0.0.1:7071/api/staff/", "/api/staff", "/api"),
    ("https://shop.example/api/staff?x=1", "/api/staff", "/api"),
    ("https://shop.example/STAFF", "/STAFF", ""),
])
def test_the_page_finds_its_files_and_the_api_under_any_prefix(url, page, api):
    """The page's file and API paths come from its own URL, so any route prefix works."""
    assert page_paths(url) == (page, api)
    html = render_page(url)
    assert f'src="{page}/console.js"' in html
    assert f'data-api="{api}"' in html


async def test_the_page_is_anonymous_and_carries_no_key(api: HttpApi):
    """The page answers without a key, holds none, and loads nothing from another origin."""
    reply = await api.request("GET", "/api/staff")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    for secret in (api.key("function"), api.key("master"), api.key("system"), "code="):
        assert secret not in reply.text
    assert "http" not in reply.text.replace('name="viewport"', "")
    assert "<label for=\"function-key\">Function key</label>" in reply.text
    policy = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("asset", "media_type"), [("console.js", "text/javascript"),
                                                   ("console.css", "text/css")])
async def test_the_pages_files_are_served_by_the_app(api: HttpApi, asset, media_type):
    """The script and the style sheet come from the app with their media types."""
    reply = await api.request("GET", f"/api/staff/{asset}")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith(media_type)
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("asset", ["staff.html", "..%2Fstaff.py", "CONSOLE.JS", "console.js.map"])
async def test_any_other_file_is_404(api: HttpApi, asset):
    """Only the two named files are served: no other file of the app, whatever its name."""
    reply = await api.request("GET", f"/api/staff/{asset}")
    assert reply.status == 404
    assert reply.body["error"] == "no such file"
