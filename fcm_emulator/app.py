"""The emulator's HTTP routes: FCM's send endpoint, the ``/emulator/*`` controls, and the
device simulator page at ``/``."""

import asyncio
import json
import re
import secrets
from typing import Any

from aiohttp import web

from fcm_emulator.errors import FcmError, canned, unauthenticated, unregistered
from fcm_emulator.rules import parse_send_body
from fcm_emulator.simulator import DEFAULT_APP_URL, simulator_page, static_file
from fcm_emulator.state import EmulatorState, Fault

STATE = web.AppKey("state", EmulatorState)
"""The app's ``EmulatorState``."""

STOPPING = web.AppKey("stopping", asyncio.Event)
"""Set when the server stops, so slow answers end at once instead of holding up shutdown."""

APP_URL = web.AppKey("app_url", list)
"""A one-item list holding the app's API base the simulator places orders with (it may
change after start, once the app's host knows its address)."""

_BEARER = re.compile(r"Bearer\s+(\S+)")
_JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def build_app(state: EmulatorState, stopping: asyncio.Event,
              app_url: list[str] | None = None) -> web.Application:
    """An aiohttp application serving ``state``; ``app_url`` holds the simulator's API base."""
    app = web.Application()
    app[STATE] = state
    app[STOPPING] = stopping
    app[APP_URL] = app_url if app_url is not None else [DEFAULT_APP_URL]
    app.router.add_get("/", _simulator)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/emulator/state", _token_state)
    app.router.add_post("/v1/projects/{project}/messages:send", _send)
    app.router.add_get("/emulator/health", _health)
    app.router.add_get("/emulator/messages", _list_messages)
    app.router.add_delete("/emulator/messages", _reset)
    app.router.add_get("/emulator/requests", _list_requests)
    app.router.add_post("/emulator/tokens/{token}:unregister", _unregister)
    app.router.add_post("/emulator/faults", _queue_fault)
    app.router.add_post("/token", _issue_token)
    return app


def _fcm_error(error: FcmError, headers: dict[str, str] | None = None) -> web.Response:
    """An FCM-shaped JSON error answer."""
    return web.json_response(error.body(), status=error.status, headers=headers)


async def _send(request: web.Request) -> web.Response:
    """``POST /v1/projects/{project}/messages:send``: FCM's one send endpoint."""
    state = request.app[STATE]
    project = request.match_info["project"]
    raw = await request.read()
    match = _BEARER.fullmatch(request.headers.get("Authorization", "").strip())
    bearer = match.group(1) if match else None
    seen = state.record_request(project, bearer)
    response = await _answer_send(request, state, project, raw, bearer)
    state.record_answer(seen, response.status)
    return response


async def _answer_send(
    request: web.Request, state: EmulatorState, project: str, raw: bytes, bearer: str | None
) -> web.Response:
    """Answer one send: an injected fault if one is queued, else FCM's rules."""
    fault = state.next_fault()
    if fault is not None and fault.delay_seconds > 0:
        stopping = request.app[STOPPING]
        try:
            await asyncio.wait_for(stopping.wait(), timeout=fault.delay_seconds)
        except asyncio.TimeoutError:
            pass  # the delay ran out: the slow answer is due now
        else:
            return _fcm_error(canned(503))  # shutting down: answer now, not after the delay
    if fault is not None and fault.status != 200:
        headers = None if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        return _fcm_error(canned(fault.status), headers)

    if bearer is None:
        return _fcm_error(
            unauthenticated(
                "Request is missing required authentication credential. "
                "Expected OAuth 2 access token."
            )
        )
    try:
        message, validate_only = parse_send_body(raw)
    except FcmError as err:
        return _fcm_error(err)
    token = message.get("token")
    if isinstance(token, str) and state.is_unregistered(token):
        return _fcm_error(unregistered())
    if validate_only:
        # What FCM itself names a message that was only validated.
        return web.json_response({"name": f"projects/{project}/messages/fake_message_id"})
    stored = state.store(project, message)
    return web.json_response({"name": stored["name"]})


async def _health(request: web.Request) -> web.Response:
    """``GET /emulator/health``: up, and how much it holds."""
    state = request.app[STATE]
    return web.json_response(
        {"status": "ok", "messages": len(state.messages()), "requests": len(state.requests())}
    )


async def _simulator(request: web.Request) -> web.Response:
    """``GET /[?token=]``: the device simulator."""
    return simulator_page(request.app[APP_URL][0])


async def _static(request: web.Request) -> web.Response:
    """``GET /static/{name}``: the simulator's script and stylesheet."""
    return static_file(request.match_info["name"])


async def _token_state(request: web.Request) -> web.Response:
    """``GET /emulator/state[?token=]``: whether the token is unregistered, faults queued."""
    state = request.app[STATE]
    token = request.query.get("token", "")
    return web.json_response({"token": token,
                              "unregistered": bool(token) and state.is_unregistered(token),
                              "queuedFaults": state.queued_faults()})


async def _list_messages(request: web.Request) -> web.Response:
    """``GET /emulator/messages[?token=]``: accepted messages, oldest first."""
    token = request.query.get("token")
    return web.json_response({"messages": request.app[STATE].messages(token)})


async def _list_requests(request: web.Request) -> web.Response:
    """``GET /emulator/requests``: every send request seen, with the status it got."""
    return web.json_response({"requests": request.app[STATE].requests()})


async def _reset(request: web.Request) -> web.Response:
    """``DELETE /emulator/messages``: forget everything (messages, dead tokens, faults)."""
    request.app[STATE].reset()
    return web.Response(status=204)


async def _unregister(request: web.Request) -> web.Response:
    """``POST /emulator/tokens/{token}:unregister``: later sends to it answer 404."""
    token = request.match_info["token"]
    request.app[STATE].mark_unregistered(token)
    return web.json_response({"token": token, "unregistered": True})


def _control_error(message: str) -> web.Response:
    """A 400 for a malformed control request."""
    return web.json_response({"error": message}, status=400)


def _int_field(body: dict[str, Any], name: str, default: int | None) -> int | None:
    """An optional integer field (booleans are refused although JSON-wise ints)."""
    value = body.get(name, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{name} must be an integer")


async def _queue_fault(request: web.Request) -> web.Response:
    """``POST /emulator/faults`` with ``{"status", "count"?, "retryAfter"?, "delaySeconds"?}``."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        return _control_error("body must be JSON")
    if not isinstance(body, dict):
        return _control_error("body must be a JSON object")
    try:
        status = _int_field(body, "status", None)
        if status is None:
            raise ValueError("status is required")
        count = _int_field(body, "count", 1)
        delay = body.get("delaySeconds", 0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)):
            raise ValueError("delaySeconds must be a number")
        fault = Fault(status, _int_field(body, "retryAfter", None), float(delay))
        request.app[STATE].queue_fault(fault, 1 if count is None else count)
    except ValueError as err:
        return _control_error(str(err))
    return web.json_response({"queued": 1 if count is None else count}, status=201)


async def _issue_token(request: web.Request) -> web.Response:
    """``POST /token``: an OAuth token endpoint for service-account credentials.

    A service account whose ``token_uri`` points here gets a token without Google, so the
    real credential path (signed JWT grant, bearer header) can be exercised offline. The
    assertion's signature is not checked.
    """
    form = await request.post()
    if form.get("grant_type") != _JWT_BEARER_GRANT or not form.get("assertion"):
        return web.json_response(
            {"error": "invalid_grant", "error_description": "expected a JWT bearer grant"},
            status=400,
        )
    return web.json_response(
        {
            "access_token": f"emulator-{secrets.token_hex(8)}",
            "expires_in": 3600,
            "token_type": "Bearer",
        }
    )
