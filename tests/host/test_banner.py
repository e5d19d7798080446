"""The start-up banner: routes and keys, and "try it" lines from the app, never made up."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.app.loader import FunctionIndex, HttpFunction
from devhost.http.keys import HostKeys
from devhost.local.banner import TRY_IT_FILE, banner

BASE = "http://127.0.0.1:7071"
KEYS = HostKeys(function_key="fkey", master_key="mkey", system_key="skey")


def _route(name: str, route: str, methods: tuple[str, ...], auth: str) -> HttpFunction:
    return HttpFunction(name=name, route=route, methods=methods, auth_level=auth,
                        func=lambda req: None, request_param="req", client_param=None,
                        is_async=False)


@pytest.fixture
def index(tmp_path: Path) -> FunctionIndex:
    """An app with a public GET route and a keyed POST route."""
    return FunctionIndex(app_dir=tmp_path, orchestrators={}, activities={}, http=(
        _route("ListThings", "things", ("GET",), "anonymous"),
        _route("AddThing", "things/{id}", ("POST",), "function"),
    ))


def test_without_a_try_it_file_each_route_gets_one_curl_line(index: FunctionIndex) -> None:
    """With no ``try-it.txt`` the banner suggests one curl per route, keyed where needed."""
    text = banner(BASE, "api", index, KEYS, None, "memory")
    assert "  curl -si 'http://127.0.0.1:7071/api/things'" in text.splitlines()
    assert ("  curl -si -X POST 'http://127.0.0.1:7071/api/things/{id}' "
            "-H 'x-functions-key: fkey'") in text.splitlines()
    assert "  POST   http://127.0.0.1:7071/api/things/{id}   [function] AddThing" in text


def test_the_app_s_try_it_file_is_shown_filled_in(index: FunctionIndex) -> None:
    """``try-it.txt`` replaces the generated lines, with ``{api}`` and the key filled in."""
    (index.app_dir / TRY_IT_FILE).write_text(
        "curl -s {api}/things\ncurl -H 'x-functions-key: {function_key}' {base_url}/\n")
    lines = banner(BASE, "api", index, KEYS, None, "memory").splitlines()
    start = lines.index("Try it:")
    assert lines[start + 1:start + 3] == [
        "  curl -s http://127.0.0.1:7071/api/things",
        "  curl -H 'x-functions-key: fkey' http://127.0.0.1:7071/",
    ]
    assert not any("-X POST" in line for line in lines)


def test_an_app_without_http_routes_gets_no_try_it_section(tmp_path: Path) -> None:
    """No routes and no file: the banner says nothing to try."""
    empty = FunctionIndex(app_dir=tmp_path, orchestrators={}, activities={}, http=())
    assert "Try it:" not in banner(BASE, "", empty, KEYS, None, "memory")


def test_the_banner_prints_the_dashboard_and_the_simulator(index: FunctionIndex) -> None:
    """The banner says where the host's dashboard is, and the device simulator when the
    FCM emulator runs."""
    text = banner(BASE, "api", index, KEYS, "http://127.0.0.1:9099", "memory")
    assert "Dashboard: http://127.0.0.1:7071/_devhost/" in text
    assert "Device simulator: http://127.0.0.1:9099/?token=" in text
    assert "Device simulator" not in banner(BASE, "api", index, KEYS, None, "memory")
