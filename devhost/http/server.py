"""The host's HTTP front end: the app's HTTP functions and the durable management API.

One aiohttp server answers three kinds of path:

* ``/{routePrefix}/...``: the app's HTTP functions, routed by their templates, with the
  method check (405), key check (401), a body limit (413), then the call itself: async
  functions on the loop, sync ones in a worker thread. A function that raises gets a 500
  with no traceback (the log has it).
* ``/runtime/webhooks/durabletask/...``: the management API, for callers holding the
  system or master key (``code=`` or ``x-functions-key``); never open anonymously.
* the secret RPC base from the durable-client binding (see ``devhost.http.durable_binding``),
  where the SDK client inside the host sends its calls without a key.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import uuid
from concurrent.futures import Executor
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from devhost.app.loader import FunctionIndex, HttpFunction
from devhost.app.settings import HostSettings
from devhost.engine.client import DurableClient
from devhost.http.adapters import error_response, to_func_request, to_web_response
from devhost.http.durable_binding import (
    RPC_PREFIX,
    RPC_SUFFIX,
    WEBHOOK_PATH,
    DurableUrls,
    new_rpc_secret,
)
from devhost.http.keys import HostKeys, presented_key
from devhost.http.management import ManagementApi
from devhost.http.routes import RouteTable
from devhost.triggers.functions import OutValue
from devhost.triggers.invocation import OutputWriter, encode_output

__all__ = ["DEFAULT_MAX_BODY_BYTES", "UNIX_SOCKET_BASE_URL", "HttpFrontEnd"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("devhost.access")

# Azure's limit on an HTTP function's request body.
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
# The base URL of a front end on a Unix socket: a name that never resolves (RFC 2606), so a
# URL the app hands out fails loudly anywhere but through this host's own socket.
UNIX_SOCKET_BASE_URL = "http://durable-test-host.invalid"


class _State:
    """What the request handler needs, stored on the aiohttp app under ``STATE``.

    Filled in once the port is bound (the URLs depend on it); aiohttp wants the app's
    keys set before it starts, so the holder goes in first.
    """

    def __init__(self) -> None:
        self.management: ManagementApi | None = None
        self.rpc_prefix = ""
        self.binding_json = ""


STATE = web.AppKey("devhost_front_end_state", _State)


def _redacted(path: str) -> str:
    """A path fit for a log line: the RPC secret replaced (the query is never logged)."""
    if path.startswith(RPC_PREFIX):
        rest = path[len(RPC_PREFIX):]
        tail = rest[rest.find("/"):] if "/" in rest else ""
        return f"{RPC_PREFIX}***{tail}"
    return path


class _AccessLogger(AbstractAccessLogger):
    """One line per request without the query string (keys travel in ``code=``) or the
    RPC secret."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Log method, redacted path, status and duration."""
        self.logger.info("%s %s -> %d (%.1f ms)", request.method, _redacted(request.path),
                         response.status, time * 1000)


async def _close_sdk_session(app: web.Application) -> None:
    """Close the durable SDK's shared aiohttp session when the server stops.

    The SDK keeps one module-level ``ClientSession`` for its client calls and never closes
    it (the worker process just exits). In this process it belongs to our loop, so we close
    it here; the SDK opens a new one on its next call. Private API, hence the guard.
    """
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:
        return
    close = getattr(http_utils, "_close_session", None)
    if close is not None:
        await close()


class HttpFrontEnd:
    """Serves an indexed app's HTTP functions and the management API over HTTP."""

    def __init__(self, index: FunctionIndex, client: DurableClient, keys: HostKeys,
                 settings: HostSettings, host: str = "127.0.0.1", port: int = 7071, *,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 sync_pool: Executor | None = None,
                 unix_socket: str | None = None) -> None:
        """Serve ``index`` on ``host:port``, or on the Unix socket ``unix_socket`` when given
        (no network port: how the test kit hosts an app). Sync HTTP functions run on
        ``sync_pool`` (the runtime's pool, shared with sync activities as the Python worker
        shares one; None: asyncio's default executor)."""
        self._unix_socket = unix_socket
        self._index = index
        self._sync_pool = sync_pool
        self._client = client
        self._keys = keys
        self._settings = settings
        self._host = host
        self._requested_port = port
        self._max_body_bytes = max_body_bytes
        self._rpc_secret = new_rpc_secret()
        self._routes: RouteTable[HttpFunction] = RouteTable(
            [(function.route, function) for function in index.http])
        prefix = settings.route_prefix.strip("/")
        self._function_prefix = f"/{prefix}/" if prefix else "/"
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._urls: DurableUrls | None = None
        # Writers of the queue outputs of HTTP functions, by function name (LocalHost sets
        # them once the triggers' storage is known).
        self.output_writers: dict[str, OutputWriter] = {}

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked)."""
        if self._port is None:
            raise RuntimeError("the HTTP front end has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port``; a wildcard bind address is given as loopback; on a Unix
        socket, ``UNIX_SOCKET_BASE_URL``."""
        if self._unix_socket is not None:
            if self._runner is None:
                raise RuntimeError("the HTTP front end has not been started")
            return UNIX_SOCKET_BASE_URL
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(  # noqa: S104
            self._host, self._host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    @property
    def urls(self) -> DurableUrls:
        """The durable URLs (public management URLs, binding JSON) of the running server."""
        if self._urls is None:
            raise RuntimeError("the HTTP front end has not been started")
        return self._urls

    def client_binding_json(self) -> str:
        """The JSON a ``durableClient`` parameter receives (holds the RPC secret: host
        code and the app's own functions only)."""
        return self.urls.binding_json()

    async def start(self) -> None:
        """Bind and start serving; raises ``OSError`` when the port is taken."""
        if self._runner is not None:
            raise RuntimeError("the HTTP front end is already running")
        app = web.Application(client_max_size=self._max_body_bytes)
        state = app[STATE] = _State()
        # ``[\s\S]``, not ``.``: every path reaches our routes, one holding a decoded line
        # break (%0A) too, so no request gets aiohttp's own plain-text answers.
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._dispatch)
        app.on_cleanup.append(_close_sdk_session)
        runner = web.AppRunner(app, access_log_class=_AccessLogger, access_log=access_log,
                               shutdown_timeout=5.0)
        await runner.setup()
        try:
            if self._unix_socket is not None:
                self._runner = runner  # base_url reads it
                await web.UnixSite(runner, self._unix_socket).start()
            else:
                site = web.TCPSite(runner, self._host, self._requested_port)
                await site.start()
                self._port = int(runner.addresses[0][1])
            self._urls = DurableUrls(self.base_url, self._settings.hub_name,
                                     self._keys.system_key, self._rpc_secret)
            state.management = ManagementApi(self._client, self._urls)
            state.rpc_prefix = f"{RPC_PREFIX}{self._rpc_secret}{RPC_SUFFIX}/"
            state.binding_json = self._urls.binding_json()
        except BaseException:
            self._runner = None
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("listening on %s (%d HTTP functions, hub %s)", self.base_url,
                 len(self._index.http), self._settings.hub_name)

    async def stop(self) -> None:
        """Stop serving and wait for requests in flight (up to a few seconds); idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Route a request to the RPC API, the management API or an HTTP function."""
        state = request.app[STATE]
        if state.management is None:
            # Only between binding the port and building the URLs that depend on it.
            return error_response(503, "starting up")
        raw = request.rel_url.raw_path
        if raw.startswith(RPC_PREFIX):
            return await self._rpc(request, raw, state)
        webhook = WEBHOOK_PATH + "/"
        if raw.lower().startswith(webhook.lower()) or raw.lower() == WEBHOOK_PATH.lower():
            if not self._keys.allows_system(presented_key(request.headers, request.query)):
                return error_response(401, "unauthorized",
                                      message="the durable management API needs the system "
                                              "or master key (code= or x-functions-key)")
            return await self._management(state).handle(request, raw[len(webhook):], False)
        prefix = self._function_prefix
        if raw.lower().startswith(prefix.lower()) or raw.lower() + "/" == prefix.lower():
            return await self._function(request, raw[len(prefix):], state)
        return error_response(404, "not found")

    @staticmethod
    def _management(state: _State) -> ManagementApi:
        """The management API (present once started)."""
        if state.management is None:
            raise RuntimeError("the HTTP front end has not finished starting")
        return state.management

    async def _rpc(self, request: web.Request, raw: str, state: _State) -> web.StreamResponse:
        """The SDK client's calls: the path must carry this process's secret.

        The SDK never adds ``code=`` to its RPC calls, so this path is keyless like Azure's
        loopback RPC listener; the secret (see ``devhost.http.durable_binding``) stands in for
        the loopback-only port. A wrong secret is a plain 404, revealing nothing.
        """
        expected = state.rpc_prefix
        presented = raw[:len(expected)]
        # Constant time, so a probe cannot learn the secret a character at a time.
        if len(raw) < len(expected) or not hmac.compare_digest(
                presented.encode(), expected.encode()):
            return error_response(404, "not found")
        return await self._management(state).handle(request, raw[len(expected):], True)

    async def _function(self, request: web.Request, path: str,
                        state: _State) -> web.StreamResponse:
        """Find the HTTP function for ``path``, check method and key, and call it."""
        matches = self._routes.match(path)
        if not matches:
            return error_response(404, "not found")
        chosen = next((m for m in matches if request.method in m.target.methods), None)
        if chosen is None:
            allowed = sorted({method for m in matches for method in m.target.methods})
            response = error_response(405, "method not allowed", allowed=allowed)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        function = chosen.target
        if not self._keys.allows(function.auth_level,
                                 presented_key(request.headers, request.query)):
            return error_response(401, "unauthorized",
                                  message=f"{function.name} needs a "
                                          f"{function.auth_level} key (code= or "
                                          "x-functions-key)")
        if (request.content_length or 0) > self._max_body_bytes:
            return self._too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        req = to_func_request(request, body, chosen.values)
        return await self._invoke(function, req, state)

    def _too_large(self) -> web.Response:
        """413 for a body over the limit."""
        return error_response(413, "request body too large", limit=self._max_body_bytes)

    async def _invoke(self, function: HttpFunction, req: Any,
                      state: _State) -> web.StreamResponse:
        """Call the function as the worker does and map its result; 500 if it fails."""
        invocation_id = str(uuid.uuid4())
        kwargs: dict[str, Any] = {function.request_param: req}
        if function.client_param is not None:
            kwargs[function.client_param] = state.binding_json
        outs = {output.param: OutValue() for output in function.outputs}
        kwargs.update(outs)
        writer = self.output_writers.get(function.name)
        if function.outputs and writer is None:
            return error_response(503, "starting", function=function.name)
        try:
            if function.is_async:
                result = await function.func(**kwargs)
            else:
                # Sync functions must not block the loop other requests run on.
                result = await asyncio.get_running_loop().run_in_executor(
                    self._sync_pool, functools.partial(function.func, **kwargs))
            if writer is not None:
                # As in Azure, outputs are written once the function has succeeded.
                await writer({output: encode_output(outs[output.param].get())
                              for output in function.outputs})
            return to_web_response(result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("function %s failed (invocation %s)", function.name, invocation_id)
            return error_response(500, "function failed", function=function.name,
                                  invocationId=invocation_id)
