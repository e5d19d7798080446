"""The durable extension's management API (``/runtime/webhooks/durabletask/...``).

The SDK's ``DurableOrchestrationClient`` calls these routes (through ``rpcBaseUrl``), and
so does anyone holding the URLs ``create_check_status_response`` returns. Verbs, query
parameters, status codes and bodies follow what the SDK client (v1.7.0) parses and what
the Functions host answers:

=========================================  =======  ===========================================
route                                      verb     answers
=========================================  =======  ===========================================
``orchestrators/{name}[/{instanceId}]``    POST     202 + management URLs; 400 unknown
                                                    orchestrator or bad JSON; 409 id in use
``instances/{id}/raiseEvent/{event}``      POST     202; 404; 410 ended; 400 not JSON
``instances/{id}``                         GET      200 ended, 202 running/pending, 404
``instances/{id}/terminate?reason=``       POST     202; 404; 410 ended
``instances/{id}``                         DELETE   200 ``{"instancesDeleted": 1}``; 404;
                                                    412 not ended
``instances/``                             GET      200 + list (filters: runtimeStatus,
                                                    createdTimeFrom/To, instanceIdPrefix, top)
``instances/``                             DELETE   purge by filter (createdTimeFrom needed)
=========================================  =======  ===========================================

Key checks happen before a request gets here (see ``devhost.http.server``); this module
only translates HTTP into ``DurableClient`` calls and the client's errors into status
codes; it never reads an instance to decide what the client decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from devhost.engine.client import DurableClient
from devhost.engine.protocol import HistoryEvent
from devhost.errors import (
    InstanceEnded,
    InstanceExists,
    InstanceNotEnded,
    InstanceNotFound,
    StorageUnavailable,
    UnknownOrchestrator,
)
from devhost.http.durable_binding import DurableUrls
from devhost.http.management import params
from devhost.http.management.bodies import (
    JSON_TYPE,
    error,
    json_response,
    json_value,
    status_json,
)
from devhost.http.management.bodies import history_json as history_view
from devhost.http.routes import RouteTable
from devhost.taskhub.base import InstanceQuery, InstanceRecord, RuntimeStatus

__all__ = ["ManagementApi"]

log = logging.getLogger(__name__)

CONTINUATION_HEADER = "x-ms-continuation-token"
# Operations Azure has that this host does not implement yet: answered 501, not 404.
_UNSUPPORTED_OPERATIONS = frozenset({"rewind", "restart", "suspend", "resume"})
_URL_KEYS = ("id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
             "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri")

Handler = Callable[[web.Request, Mapping[str, str], bool], Awaitable[web.Response]]


def _not_found(instance_id: str) -> web.Response:
    return error(404, f"No instance with ID '{instance_id}' found.")


def _gone(instance_id: str) -> web.Response:
    return error(410, f"Instance '{instance_id}' has already ended.")


class _BadEventData(ValueError):
    """An event's body that the Functions host refuses; ``str()`` is its message."""


class ManagementApi:
    """Answers management requests by calling a ``DurableClient``."""

    def __init__(self, client: DurableClient, urls: DurableUrls) -> None:
        self._client = client
        self._urls = urls
        self._routes: RouteTable[dict[str, Handler]] = RouteTable([
            ("orchestrators/{functionName}/{instanceId?}", {"POST": self._start}),
            ("instances/{instanceId}/raiseEvent/{eventName}", {"POST": self._raise_event}),
            ("instances/{instanceId}/{operation}", {"POST": self._operation}),
            ("instances/{instanceId}", {"GET": self._status, "DELETE": self._purge}),
            ("instances", {"GET": self._query, "DELETE": self._purge_by}),
            ("entities/{*rest}", {method: self._no_entities
                                  for method in ("GET", "POST", "DELETE")}),
        ])

    async def handle(self, request: web.Request, path: str, via_rpc: bool) -> web.Response:
        """Answer ``request`` for ``path`` (below the management base, percent-encoded).

        ``via_rpc`` marks a call through the secret RPC base; its answers never echo the
        request URL back.
        """
        matches = self._routes.match(path)
        if not matches:
            return error(404, "no such management route")
        for match in matches:
            handler = match.target.get(request.method)
            if handler is not None:
                return await self._guarded(handler, request, match.values, via_rpc)
        allowed = sorted({m for match in matches for m in match.target})
        return json_response(405, {"Message": "method not allowed"},
                             {"Allow": ", ".join(allowed)})

    async def _guarded(self, handler: Handler, request: web.Request,
                       values: Mapping[str, str], via_rpc: bool) -> web.Response:
        """Run a handler, turning the client's errors into their answers and host failures
        into 5xx answers without internals."""
        instance_id = values.get("instanceId", "")
        try:
            return await handler(request, values, via_rpc)
        except InstanceNotFound:
            return _not_found(instance_id)
        except InstanceEnded:
            return _gone(instance_id)
        except StorageUnavailable:
            log.warning("management %s: storage unavailable", request.method, exc_info=True)
            return error(503, "the task hub's storage is unavailable; try again")
        except Exception:
            # The SDK parses every answer as JSON, so even a bug answers in JSON.
            log.exception("management %s failed", request.method)
            return error(500, "Something went wrong while processing your request")

    def _accepted(self, instance_id: str) -> web.Response:
        """202 with the management URLs, Location and Retry-After (the async HTTP pattern)."""
        urls = self._urls.management_urls(instance_id)
        body = {key: urls[key] for key in _URL_KEYS}
        return json_response(202, body, {"Location": urls["statusQueryGetUri"],
                                         "Retry-After": "10"})

    async def _start(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Start an orchestration; optionally wait for it (``timeout``/``pollingInterval``)."""
        name = values["functionName"]
        instance_id = values.get("instanceId") or None
        if instance_id is not None and (problem := params.check_instance_id(instance_id)):
            return error(400, problem)
        try:
            input_text = params.start_input(await request.read())
        except ValueError:  # JsonTooDeep included
            return error(400, "Invalid JSON content")
        try:
            new_id = await self._client.start_new(name, instance_id, input_text)
        except UnknownOrchestrator:
            return error(400, f"The function '{name}' doesn't exist, is disabled, or is not "
                              "an orchestrator function.")
        except InstanceExists:
            return error(409, f"An instance with ID '{instance_id}' already exists and has "
                              "not ended.")
        log.info("started orchestration %s as %s", name, new_id)
        try:
            timeout = float(request.query["timeout"])
            interval = float(request.query["pollingInterval"])
        except (KeyError, ValueError):
            return self._accepted(new_id)
        return await self._wait(request, new_id, timeout, interval, via_rpc)

    async def _wait(self, request: web.Request, instance_id: str, timeout: float,
                    interval: float, via_rpc: bool) -> web.Response:
        """Poll until the instance ends or ``timeout`` seconds pass (create-and-wait URL)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            record = await self._client.get_instance(instance_id)
            if record is not None and record.runtime_status == RuntimeStatus.COMPLETED:
                return json_response(200, json_value(record.output))
            if record is not None and record.runtime_status.has_ended:
                return self._status_response(request, record, True, None, via_rpc)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self._accepted(instance_id)
            await asyncio.sleep(min(max(interval, 0.01), remaining))

    async def _raise_event(self, request: web.Request, values: Mapping[str, str],
                           via_rpc: bool) -> web.Response:
        """Deliver an external event; the data stays the JSON the caller sent.

        The body is judged only once the instance is known live, in Azure's sequence:
        404, then 410, then 400 for a body that is not JSON.
        """
        instance_id, event = values["instanceId"], values["eventName"]
        content_type = request.content_type.lower()
        raw = (await request.read()).decode("utf-8", errors="replace").strip()

        def check_data() -> None:
            if content_type != JSON_TYPE:
                raise _BadEventData("Only application/json request content is supported")
            try:
                if raw:
                    params.parse_json(raw)
            except ValueError:
                raise _BadEventData("Invalid JSON content") from None

        try:
            await self._client.raise_event(instance_id, event, raw or None, check_data)
        except _BadEventData as bad:
            return error(400, str(bad))
        return web.Response(status=202)

    async def _operation(self, request: web.Request, values: Mapping[str, str],
                         via_rpc: bool) -> web.Response:
        """``terminate``; the other instance operations are not implemented here."""
        operation = values["operation"].lower()
        if operation in _UNSUPPORTED_OPERATIONS:
            return error(501, f"'{operation}' is not supported by the local host")
        if operation != "terminate":
            return error(404, f"no instance operation '{values['operation']}'")
        await self._client.terminate(values["instanceId"], request.query.get("reason"))
        return web.Response(status=202)

    def _status_response(self, request: web.Request, record: InstanceRecord,
                         show_input: bool, history: list[dict[str, object]] | None,
                         via_rpc: bool) -> web.Response:
        """200 when ended (500 for Failed if asked), else 202 with Location/Retry-After."""
        body = status_json(record, show_input, history)
        if not record.runtime_status.has_ended:
            headers = {"Retry-After": "5"}
            if not via_rpc:
                headers["Location"] = str(request.url)
            return json_response(202, body, headers)
        failed = record.runtime_status == RuntimeStatus.FAILED
        if failed and params.flag(request.query, "returnInternalServerErrorOnFailure", False):
            return json_response(500, body)
        return json_response(200, body)

    async def _status(self, request: web.Request, values: Mapping[str, str],
                      via_rpc: bool) -> web.Response:
        """One instance's status (``showHistory``, ``showHistoryOutput``, ``showInput``)."""
        instance_id = values["instanceId"]
        record = await self._client.get_instance(instance_id)
        if record is None:
            return _not_found(instance_id)
        history = None
        if params.flag(request.query, "showHistory", False):
            events: list[HistoryEvent] = await self._client.get_history(instance_id)
            history = history_view(events,
                                   params.flag(request.query, "showHistoryOutput", False))
        # Azure shows the input unless told not to; the SDK only ever sends showInput=True.
        show_input = params.flag(request.query, "showInput", True)
        return self._status_response(request, record, show_input, history, via_rpc)

    @staticmethod
    def _instance_query(request: web.Request) -> InstanceQuery:
        """The query's filters; ValueError if one is malformed."""
        query = request.query
        return InstanceQuery(statuses=params.statuses(query),
                             created_from=params.moment(query, "createdTimeFrom"),
                             created_to=params.moment(query, "createdTimeTo"))

    async def _select(self, request: web.Request) -> list[InstanceRecord]:
        """Instances matching the query's filters, oldest first; ValueError if malformed."""
        records = await self._client.query(self._instance_query(request))
        prefix = request.query.get("instanceIdPrefix")
        if prefix:
            records = [r for r in records if r.instance_id.startswith(prefix)]
        return records

    async def _query(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Many instances' statuses, paged by ``top`` and ``x-ms-continuation-token``."""
        try:
            records = await self._select(request)
        except ValueError as err:
            return error(400, str(err))
        offset = params.count(request.headers.get(CONTINUATION_HEADER, "")) or 0
        size = params.count(request.query.get("top", "")) or len(records)
        page = records[offset:offset + size]
        show_input = params.flag(request.query, "showInput", True)
        headers = {}
        if offset + size < len(records):
            headers[CONTINUATION_HEADER] = str(offset + size)
        return json_response(200, [status_json(r, show_input) for r in page], headers)

    async def _purge(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Delete one ended instance's record and history."""
        instance_id = values["instanceId"]
        try:
            await self._client.purge(instance_id)
        except InstanceNotEnded as live:
            return error(412, "Only orchestrations in a terminal state can be purged, but "
                              f"'{instance_id}' is {live.status}")
        return json_response(200, {"instancesDeleted": 1})

    async def _purge_by(self, request: web.Request, values: Mapping[str, str],
                        via_rpc: bool) -> web.Response:
        """Delete every ended instance matching the filters (``createdTimeFrom`` required)."""
        if not request.query.get("createdTimeFrom"):
            return error(400, "Please provide value for 'createdTimeFrom' parameter.")
        try:
            records = await self._select(request)
        except ValueError as err:
            return error(400, str(err))
        deleted = 0
        for record in records:
            if record.runtime_status.has_ended:
                try:
                    await self._client.purge(record.instance_id)
                    deleted += 1
                except (InstanceNotFound, InstanceNotEnded):
                    continue  # gone or restarted since the query: not this purge's to count
        if not deleted:
            return error(404, "no instance matched")
        return json_response(200, {"instancesDeleted": deleted})

    async def _no_entities(self, request: web.Request, values: Mapping[str, str],
                           via_rpc: bool) -> web.Response:
        """Entities are not hosted yet."""
        return error(501, "durable entities are not supported by the local host")
