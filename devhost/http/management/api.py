"""The durable extension's management API (``/runtime/webhooks/durabletask/...``).

The SDK's ``DurableOrchestrationClient`` calls these routes (through ``rpcBaseUrl``), and
so does anyone holding the URLs ``create_check_status_response`` returns. Verbs, query
parameters, status codes and bodies follow what the SDK client (v1.7.0) parses and what
the Functions host answers:

=========================================  =======  ===========================================
route                                      verb     answers
=========================================  =======  ===========================================
``orchestrators/{name}[/{instanceId}]``    POST     202 + management URLs; 400 unknown
                                                    orchestrator, bad id or bad JSON; 500
                                                    id in use (as Azure's catch-all answers)
``instances/{id}/raiseEvent/{event}``      POST     202; 404; 410 ended; 400 not JSON/empty
``instances/{id}``                         GET      200 ended, 202 running/pending, 404
``instances/{id}/terminate?reason=``       POST     202; 404; 410 ended
``instances/{id}/suspend|resume?reason=``  POST     202; 404; 410 ended
``instances/{id}/rewind?reason=``          POST     202 failed; 404; 410 completed or
                                                    terminated; 500 live (Azure's catch-all)
``instances/{id}/restart``                 POST     202 + the new instance's URLs; 400
                                                    unknown id; 500 live under its own id
``instances/{id}``                         DELETE   200 ``{"instancesDeleted": 1}`` whatever
                                                    its status; 404
``instances/``                             GET      200 + list, 100 a page unless ``top``
                                                    (filters: runtimeStatus, createdTimeFrom/To,
                                                    instanceIdPrefix)
``instances/``                             DELETE   purge by filter (createdTimeFrom needed)
=========================================  =======  ===========================================

Status codes and bodies are those of the extension's ``HttpApiHandler.cs``: 404 and 410
have no body, query parameter names are case-insensitive, malformed optional filters are
left out rather than refused. Key checks happen before a request gets here (see
``devhost.http.server``); this module only translates HTTP into ``DurableClient`` calls
and the client's errors into status codes; it never reads an instance to decide what the
client decides.
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
    InstanceNotFound,
    InvalidInstanceId,
    NotRewindable,
    PayloadTooLarge,
    StorageUnavailable,
    UnknownOrchestrator,
)
from devhost.http.durable_binding import DurableUrls
from devhost.http.management import params
from devhost.http.management.bodies import (
    JSON_TYPE,
    empty,
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
_URL_KEYS = ("id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
             "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri")

# The statuses the Azure Storage provider's purge by filter keeps from runtimeStatus.
_ENDED_NAMES = frozenset({"Completed", "Terminated", "Canceled", "Failed"})
# Page size of a query without ``top`` (OrchestrationStatusQueryCondition.PageSize).
DEFAULT_PAGE_SIZE = 100
_INTERNAL_ERROR = "Something went wrong while processing your request"
_BAD_ARGUMENTS = "One or more of the arguments submitted is incorrect"
_JSON_READER_ERROR = "Newtonsoft.Json.JsonReaderException"

Handler = Callable[[web.Request, Mapping[str, str], bool], Awaitable[web.Response]]


class _BadEventData(ValueError):
    """An event's body that the Functions host refuses: its 400 answer."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("bad event data")
        self.response = response


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
        for match in self._routes.match(path):
            handler = match.target.get(request.method)
            if handler is not None:
                return await self._guarded(handler, request, match.values, via_rpc)
        # Azure answers a route it does not know, or a verb a route does not take, with a
        # bare 404.
        return empty(404)

    async def _guarded(self, handler: Handler, request: web.Request,
                       values: Mapping[str, str], via_rpc: bool) -> web.Response:
        """Run a handler, turning the client's errors into their answers and host failures
        into 5xx answers without internals."""
        try:
            return await handler(request, values, via_rpc)
        except InstanceNotFound:
            return empty(404)
        except InstanceEnded:
            return empty(410)
        except PayloadTooLarge as refused:
            # Nothing was written: this host's cap on one value (devhost.taskhub.limits),
            # said plainly rather than as a failure of the host.
            return error(413, str(refused))
        except StorageUnavailable:
            log.warning("management %s: storage unavailable", request.method, exc_info=True)
            return error(503, "the task hub's storage is unavailable; try again")
        except Exception:
            # The SDK parses every answer as JSON, so even a bug answers in JSON.
            log.exception("management %s failed", request.method)
            return error(500, _INTERNAL_ERROR)

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
        try:
            input_text, as_text = params.start_input(await request.read())
        except ValueError as bad:  # JsonTooDeep included
            return error(400, "Invalid JSON content", str(bad), _JSON_READER_ERROR)
        try:
            # The SDK's start_new(version=...) sends it as ?version= (DurableOrchestrationClient).
            new_id = await self._client.start_new(name, instance_id, input_text,
                                                  request.query.get("version"),
                                                  input_as_text=as_text)
        except (UnknownOrchestrator, InvalidInstanceId) as refused:
            # StartNewAsync throws ArgumentExceptions (the function first, then the id),
            # which HttpApiHandler answers 400.
            return error(400, _BAD_ARGUMENTS, str(refused), "System.ArgumentException")
        except InstanceExists:
            return await self._already_exists(values["instanceId"])
        log.info("started orchestration %s as %s", name, new_id)
        query = params.query_values(request.query)
        try:
            timeout = float(query["timeout"])
            interval = float(query["pollingInterval"])
        except (KeyError, ValueError):
            return self._accepted(new_id)
        if interval > timeout:
            # The instance has started; only the wait is refused (an ArgumentException).
            return error(400, _BAD_ARGUMENTS, f"Total timeout {timeout:g} should be bigger "
                         f"than retry timeout {interval:g}", "System.ArgumentException")
        return await self._wait(request, new_id, timeout, interval, via_rpc)

    async def _already_exists(self, instance_id: str) -> web.Response:
        """A start over a live id: Durable Task's ``OrchestrationAlreadyExistsException``,
        which the extension does not catch, so its catch-all answers 500."""
        record = await self._client.get_instance(instance_id)
        status = record.runtime_status.value if record is not None else "Running"
        return error(500, _INTERNAL_ERROR,
                     f"An Orchestration instance with the status {status} already exists.",
                     "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException")

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
        404, then 410, then 400 for a body that is not JSON (an empty one included: the
        extension parses it with ``JToken.Load``, which refuses nothing to read).
        """
        instance_id, event = values["instanceId"], values["eventName"]
        content_type = request.content_type.lower()
        raw = (await request.read()).decode("utf-8", errors="replace").strip()

        def check_data() -> None:
            if content_type != JSON_TYPE:
                raise _BadEventData(
                    error(400, "Only application/json request content is supported"))
            if not raw:
                raise _BadEventData(error(
                    400, "Invalid JSON content",
                    "Error reading JToken from JsonReader. Path '', line 0, position 0.",
                    _JSON_READER_ERROR))
            try:
                params.parse_json(raw)
            except ValueError as bad:
                raise _BadEventData(error(400, "Invalid JSON content", str(bad),
                                          _JSON_READER_ERROR)) from None

        try:
            await self._client.raise_event(instance_id, event, raw, check_data)
        except _BadEventData as bad:
            return bad.response
        return web.Response(status=202)

    async def _operation(self, request: web.Request, values: Mapping[str, str],
                         via_rpc: bool) -> web.Response:
        """``terminate``, ``suspend``, ``resume``, ``rewind`` (202) and ``restart``."""
        operation = values["operation"].lower()
        query = params.query_values(request.query)
        instance_id = values["instanceId"]
        if operation == "restart":
            return await self._restart(request, instance_id, query, via_rpc)
        act = {"terminate": self._client.terminate, "suspend": self._client.suspend,
               "resume": self._client.resume, "rewind": self._client.rewind}.get(operation)
        if act is None:
            return empty(404)
        try:
            await act(instance_id, query.get("reason"))
        except NotRewindable as refused:
            # RewindAsync's InvalidOperationException reaches HttpApiHandler's catch-all.
            return error(500, _INTERNAL_ERROR, str(refused), "System.InvalidOperationException")
        return web.Response(status=202)

    async def _restart(self, request: web.Request, instance_id: str,
                       query: Mapping[str, str], via_rpc: bool) -> web.Response:
        """Start the instance again (``restartWithNewInstanceId``, true unless "false"):
        202 with the new instance's URLs, as a start answers (HandleRestartInstanceRequestAsync)."""
        new_id = params.flag(query, "restartWithNewInstanceId", True)
        try:
            restarted = await self._client.restart(instance_id, new_id)
        except InstanceNotFound as missing:
            return error(400, "InstanceId does not match a valid orchestration instance.",
                         f"An orchestrastion with the instanceId {missing} was not found.",
                         "System.ArgumentException")
        except InstanceExists:
            return await self._already_exists(instance_id)
        return self._accepted(restarted)

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
        query = params.query_values(request.query)
        if failed and params.flag(query, "returnInternalServerErrorOnFailure", False):
            return json_response(500, body)
        return json_response(200, body)

    async def _status(self, request: web.Request, values: Mapping[str, str],
                      via_rpc: bool) -> web.Response:
        """One instance's status (``showHistory``, ``showHistoryOutput``, ``showInput``)."""
        instance_id = values["instanceId"]
        query = params.query_values(request.query)
        record = await self._client.get_instance(instance_id)
        if record is None:
            return empty(404)
        # Azure shows the input unless told not to; the SDK only ever sends showInput=True.
        show_input = params.flag(query, "showInput", True)
        history = None
        # A Pending instance has no history to show: historyEvents is left out.
        if (params.flag(query, "showHistory", False)
                and record.runtime_status != RuntimeStatus.PENDING):
            events: list[HistoryEvent] = await self._client.get_history(instance_id)
            history = history_view(events, params.flag(query, "showHistoryOutput", False),
                                   show_input)
        return self._status_response(request, record, show_input, history, via_rpc)

    async def _query(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Many instances' statuses, a page at a time: ``top`` of them (100 without it),
        the next page from ``x-ms-continuation-token``. Malformed time filters are left
        out, as ``DateTime.TryParse`` leaves them."""
        query = params.query_values(request.query)
        statuses = params.statuses(query)
        records = [] if statuses == frozenset() else await self._client.query(InstanceQuery(
            statuses=statuses, created_from=params.lenient_moment(query, "createdTimeFrom"),
            created_to=params.lenient_moment(query, "createdTimeTo")))
        prefix = query.get("instanceIdPrefix")
        if prefix:
            records = [r for r in records if r.instance_id.startswith(prefix)]
        offset = params.count(request.headers.get(CONTINUATION_HEADER, "").strip()) or 0
        size = params.count(query.get("top", "")) or DEFAULT_PAGE_SIZE
        page = records[offset:offset + size]
        show_input = params.flag(query, "showInput", True)
        headers = {}
        if offset + size < len(records):
            headers[CONTINUATION_HEADER] = str(offset + size)
        return json_response(200, [status_json(r, show_input) for r in page], headers)

    async def _purge(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Delete one instance's record and history, whatever its status (Azure's purge
        deletes a running instance too)."""
        await self._client.purge(values["instanceId"])
        return json_response(200, {"instancesDeleted": 1})

    async def _purge_by(self, request: web.Request, values: Mapping[str, str],
                        via_rpc: bool) -> web.Response:
        """Delete the instances created from ``createdTimeFrom`` (required) to
        ``createdTimeTo`` (default: now) in the given runtime statuses.

        As the Azure Storage provider does it (``AzureTableTrackingStore``): only the
        ended statuses of the filter count, and a filter left without any (none given,
        or only live ones) selects every status, running instances included.
        ``instanceIdPrefix`` is not a filter of this route.
        """
        query = params.query_values(request.query)
        created_from = params.lenient_moment(query, "createdTimeFrom")
        if created_from is None:
            return json_response(400, "Please provide value for 'createdTimeFrom' parameter.")
        created_to = params.lenient_moment(query, "createdTimeTo") or self._client.hub.clock.now()
        ended = params.status_names(query) & _ENDED_NAMES
        records = await self._client.query(InstanceQuery(
            statuses=frozenset(s for s in RuntimeStatus if s.value in ended) if ended else None,
            created_from=created_from, created_to=created_to))
        deleted = 0
        for record in records:
            try:
                await self._client.purge(record.instance_id)
                deleted += 1
            except InstanceNotFound:
                continue  # gone since the query: not this purge's to count
        if not deleted:
            return empty(404)
        return json_response(200, {"instancesDeleted": deleted})

    async def _no_entities(self, request: web.Request, values: Mapping[str, str],
                           via_rpc: bool) -> web.Response:
        """Entities are not hosted yet."""
        return error(501, "durable entities are not supported by the local host")
