"""``Host.CORS`` of local.settings.json, answered as Core Tools answers it.

Core Tools (``src/Cli/func/Actions/HostActions/Startup.cs``) puts ASP.NET Core's CORS
middleware in front of the host with ``WithOrigins(CORS.Split(','))``, ``AllowAnyHeader()``,
``AllowAnyMethod()`` and ``AllowCredentials()`` for ``CORSCredentials``; the answers below are
those of ``CorsMiddleware.cs`` and ``CorsService.cs`` (aspnetcore, src/Middleware/CORS).
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from devhost.app.settings import load_settings
from devhost.errors import AppLoadError
from tests.support.front_end import SAMPLE_APP, AppServer, AppWriter

SIMULATOR = "http://127.0.0.1:9099"
OTHER = "http://elsewhere.test"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type, x-extra"}


def settings_with(host: dict[str, object]) -> str:
    """A local.settings.json holding the ``Host`` section ``host``."""
    return json.dumps({"IsEncrypted": False, "Values": {}, "Host": host})


async def served(write_app: AppWriter, serve_app: AppServer, host: dict[str, object]) -> str:
    """The sample app served with ``host`` as its Host section; returns its base URL."""
    folder = write_app(SAMPLE_APP, local__settings__json=settings_with(host))
    return (await serve_app(folder)).front_end.base_url


async def ask(method: str, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    """One request; its status and headers (names lower-cased)."""
    async with aiohttp.ClientSession() as session, session.request(
            method, url, headers=headers) as answer:
        await answer.read()
        return answer.status, {name.lower(): value for name, value in answer.headers.items()}


def cors_headers(headers: dict[str, str]) -> dict[str, str]:
    """The Access-Control-* headers and Vary of an answer."""
    return {name: value for name, value in headers.items()
            if name.startswith("access-control-") or name == "vary"}


async def test_preflight_from_an_allowed_origin_echoes_method_and_headers(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """A preflight from a listed origin is answered 204 by the middleware itself, with the
    origin, the method asked and the headers asked (``AllowAnyMethod``/``AllowAnyHeader``
    in ``CorsService.PopulateResult``), and no Vary for a single origin."""
    base = await served(write_app, serve_app, {"CORS": SIMULATOR})
    status, headers = await ask("OPTIONS", f"{base}/api/start/Echo",
                                {"Origin": SIMULATOR, **PREFLIGHT})
    assert status == 204
    assert cors_headers(headers) == {
        "access-control-allow-origin": SIMULATOR,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "content-type,x-extra",
    }


async def test_preflight_from_another_origin_is_204_without_cors_headers(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """An origin not listed still gets the middleware's 204, but none of the headers
    (``ApplyResult`` returns early when ``IsOriginAllowed`` is false), so the browser
    refuses the call."""
    base = await served(write_app, serve_app, {"CORS": SIMULATOR})
    status, headers = await ask("OPTIONS", f"{base}/api/start/Echo",
                                {"Origin": OTHER, **PREFLIGHT})
    assert status == 204
    assert cors_headers(headers) == {}


async def test_answers_carry_the_origin_only_for_allowed_origins(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """A function's own answer gets Access-Control-Allow-Origin for a listed origin, and
    nothing for another origin or a request without Origin."""
    base = await served(write_app, serve_app, {"CORS": SIMULATOR})
    status, allowed = await ask("GET", f"{base}/api/open", {"Origin": SIMULATOR})
    assert status == 200
    assert cors_headers(allowed) == {"access-control-allow-origin": SIMULATOR}
    _, other = await ask("GET", f"{base}/api/open", {"Origin": OTHER})
    _, plain = await ask("GET", f"{base}/api/open", {})
    assert cors_headers(other) == {} and cors_headers(plain) == {}


async def test_errors_and_the_management_api_get_the_headers_too(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """The middleware runs in front of the whole host: a 404 and a 401 of the management
    API carry the header for an allowed origin."""
    base = await served(write_app, serve_app, {"CORS": SIMULATOR})
    status, missing = await ask("GET", f"{base}/api/no-such-route", {"Origin": SIMULATOR})
    assert status == 404 and missing["access-control-allow-origin"] == SIMULATOR
    status, refused = await ask("GET", f"{base}/runtime/webhooks/durabletask/instances",
                                {"Origin": SIMULATOR})
    assert status == 401 and refused["access-control-allow-origin"] == SIMULATOR


async def test_a_star_allows_any_origin_with_a_star(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """``*`` as the one origin is ``AllowAnyOrigin``: the answer says ``*``, not the
    request's origin, and without credentials there is no Vary."""
    base = await served(write_app, serve_app, {"CORS": "*"})
    _, headers = await ask("GET", f"{base}/api/open", {"Origin": OTHER})
    assert cors_headers(headers) == {"access-control-allow-origin": "*"}


async def test_credentials_and_several_origins(write_app: AppWriter,
                                               serve_app: AppServer) -> None:
    """With ``CORSCredentials`` the answer allows credentials; with more than one origin
    listed it varies by Origin (``VaryByOrigin = Origins.Count > 1``)."""
    base = await served(write_app, serve_app,
                        {"CORS": f"{OTHER},{SIMULATOR}", "CORSCredentials": True})
    status, headers = await ask("OPTIONS", f"{base}/api/open",
                                {"Origin": SIMULATOR, "Access-Control-Request-Method": "GET"})
    assert status == 204
    assert cors_headers(headers) == {
        "access-control-allow-origin": SIMULATOR,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET",
        "vary": "Origin",
    }


async def test_origins_are_lowered_but_compared_exactly_and_never_trimmed(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """``WithOrigins`` lower-cases what is configured, ``IsOriginAllowed`` compares
    ordinally, and Core Tools splits on commas without trimming: a space before an origin
    makes it one no browser sends."""
    base = await served(write_app, serve_app,
                        {"CORS": "HTTP://Upper.Test:9099, http://spaced.test"})
    _, lowered = await ask("GET", f"{base}/api/open", {"Origin": "http://upper.test:9099"})
    _, upper = await ask("GET", f"{base}/api/open", {"Origin": "HTTP://UPPER.TEST:9099"})
    _, spaced = await ask("GET", f"{base}/api/open", {"Origin": "http://spaced.test"})
    assert lowered["access-control-allow-origin"] == "http://upper.test:9099"
    assert cors_headers(upper) == {} and cors_headers(spaced) == {}


async def test_without_host_cors_no_preflight_is_answered(
        write_app: AppWriter, serve_app: AppServer) -> None:
    """No ``Host.CORS``, no middleware: a preflight reaches the routes like any OPTIONS
    (405 on a GET-only route) and nothing adds CORS headers."""
    base = await served(write_app, serve_app, {})
    status, headers = await ask("OPTIONS", f"{base}/api/open",
                                {"Origin": SIMULATOR, "Access-Control-Request-Method": "GET"})
    assert status == 405
    assert cors_headers(headers) == {}


async def test_the_dashboard_never_answers_cors(write_app: AppWriter,
                                                serve_app: AppServer) -> None:
    """Even with ``*`` the host's dashboard adds no CORS header and answers no preflight,
    so no other origin can read its pages (and the action token they carry)."""
    base = await served(write_app, serve_app, {"CORS": "*"})
    status, page = await ask("GET", f"{base}/_devhost/", {"Origin": OTHER})
    assert status == 200 and cors_headers(page) == {}
    status, preflight = await ask("OPTIONS", f"{base}/_devhost/instances/x/terminate",
                                  {"Origin": OTHER, **PREFLIGHT})
    assert status != 204 and cors_headers(preflight) == {}


def test_a_star_with_credentials_stops_the_host(tmp_path: Path) -> None:
    """``*`` with credentials is refused as ``CorsPolicyBuilder.Build`` refuses it, with
    its message, before anything starts."""
    (tmp_path / "local.settings.json").write_text(
        settings_with({"CORS": "*", "CORSCredentials": True}))
    with pytest.raises(AppLoadError, match="does not allow specifying a wildcard"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize("host", [{"CORS": ["http://a.test"]}, {"CORSCredentials": "yes"},
                                  {"CORSCredentials": 1}])
def test_host_settings_of_the_wrong_type_are_refused(tmp_path: Path,
                                                     host: dict[str, object]) -> None:
    """``Host.CORS`` is a string and ``Host.CORSCredentials`` a boolean; anything else
    stops the host with the setting named."""
    (tmp_path / "local.settings.json").write_text(settings_with(host))
    with pytest.raises(AppLoadError, match=r"Host\.CORS"):
        load_settings(tmp_path, environ={})


def test_the_example_settings_allow_the_device_simulator(tmp_path: Path) -> None:
    """The example settings ``make run`` copies allow the FCM emulator's own origin, and
    only what they list."""
    example = Path(__file__).resolve().parents[3] / "local.settings.json.example"
    (tmp_path / "local.settings.json").write_text(example.read_text())
    policy = load_settings(tmp_path, environ={}).cors
    assert policy is not None and not policy.credentials
    assert policy.allows(SIMULATOR) and not policy.allows(OTHER)
