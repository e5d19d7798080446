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
only translates HTTP into ``DurableService`` calls and its errors into status codes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from devhost.engine.client import DurableService
from devhost.errors import (
    InstanceEnded,
    InstanceExists,
    InstanceNotFound,
    StorageUnavailable,
    UnknownOrchestrator,
)
from devhost.http.durable_binding import DurableUrls
from devhost.http.routes import RouteTable
from devhost.taskhub.base import InstanceRecord, RuntimeStatus

__all__ = ["ManagementApi", "history_json", "status_json"]

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
CONTINUATION_HEADER = "x-ms-continuation-token"
# Azure Storage refuses these in keys; the Functions host refuses them in instance ids.
_BAD_ID_CHARS = frozenset("/\\#?")
MAX_INSTANCE_ID_LENGTH = 100
# Json.NET's default MaxDepth, which the Functions host reads management bodies with.
MAX_JSON_DEPTH = 64
# Paging numbers: plain ASCII digits, few enough for any page size or offset.
_COUNT = re.compile(r"[0-9]{1,9}")
# Operations Azure has that this host does not implement yet: answered 501, not 404.
_UNSUPPORTED_OPERATIONS = frozenset({"rewind", "restart", "suspend", "resume"})

# Durable Task Framework event type names, as the status API spells them.
_EVENT_NAMES = (
    "ExecutionStarted", "ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated",
    "TaskScheduled", "TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed", "TimerCreated",
    "TimerFired", "OrchestratorStarted", "OrchestratorCompleted", "EventSent", "EventRaised",
    "ContinueAsNew", "GenericEvent", "HistoryState", "ExecutionSuspended", "ExecutionResumed",
)
# Episode markers: bookkeeping the Functions host leaves out of historyEvents.
_HIDDEN_EVENTS = frozenset({"OrchestratorStarted", "OrchestratorCompleted"})
_OUTPUT_FIELDS = ("Input", "Result")
_SHOWN_FIELDS = ("Timestamp", "FireAt", "TimerId", "TaskScheduledId", "Reason", "Details",
                 "InstanceId")

Handler = Callable[[web.Request, Mapping[str, str], bool], Awaitable[web.Response]]


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.Response(status=status, text=json.dumps(body), content_type=JSON_TYPE,
                        headers=headers)


def _error(status: int, message: str) -> web.Response:
    """An error the way ASP.NET's ``CreateErrorResponse`` shapes it (the SDK reads
    ``ExceptionMessage`` from a failed start)."""
    return _json(status, {"Message": message, "ExceptionMessage": message})


def _json_value(text: str | None) -> Any:
    """A stored JSON text as a JSON value (text that is not JSON stays a string)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _timestamp(moment: datetime) -> str:
    """ISO-8601 UTC to the second with ``Z``, as the status API writes times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_json(events: list[dict[str, Any]], show_output: bool) -> list[dict[str, Any]]:
    """``historyEvents`` as the status API shows them: named event types, episode markers
    left out, inputs and results only with ``showHistoryOutput``."""
    shown = []
    for event in events:
        kind = event.get("EventType")
        name = _EVENT_NAMES[kind] if isinstance(kind, int) and 0 <= kind < len(
            _EVENT_NAMES) else str(kind)
        if name in _HIDDEN_EVENTS:
            continue
        item: dict[str, Any] = {"EventType": name}
        if "Name" in event:
            item["Name" if name == "EventRaised" else "FunctionName"] = event["Name"]
        for key in _SHOWN_FIELDS:
            if key in event:
                item[key] = event[key]
        if show_output:
            for key in _OUTPUT_FIELDS:
                if key in event:
                    item[key] = _json_value(event[key])
        shown.append(item)
    return shown


def status_json(record: InstanceRecord, show_input: bool = True,
                history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The status body: JSON values (not text) for input, output and custom status."""
    body: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.runtime_status.value,
        "input": _json_value(record.input) if show_input else None,
        "customStatus": _json_value(record.custom_status),
        "output": _json_value(record.output),
        "createdTime": _timestamp(record.created_at),
        "lastUpdatedTime": _timestamp(record.updated_at),
    }
    if history is not None:
        body["historyEvents"] = history
    return body


def _flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean query parameter read like .NET's ``bool.TryParse`` (else ``default``)."""
    value = query.get(name, "").strip().lower()
    return {"true": True, "false": False}.get(value, default)


def _moment(query: Mapping[str, str], name: str) -> datetime | None:
    """An ISO-8601 query parameter (UTC when it has no offset); ValueError if malformed."""
    text = query.get(name)
    if not text:
        return None
    text = text.strip()
    try:
        # The SDK writes a trailing "Z", which fromisoformat reads only from Python 3.11.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _statuses(query: Mapping[str, str]) -> set[RuntimeStatus] | None:
    """``runtimeStatus=Running,Pending`` (case-insensitive; unknown names ignored)."""
    wanted = {part.strip().lower() for part in query.get("runtimeStatus", "").split(",")}
    found = {status for status in RuntimeStatus if status.value.lower() in wanted}
    return found or None


def _start_input(body: bytes) -> str | None:
    """The orchestration input as JSON text, from a start request's body.

    The SDK serializes the input to JSON text and then posts that text as a JSON string
    (aiohttp ``json=``), so the body is JSON *of* JSON text. The Functions host stores the
    body and hands the orchestrator the decoded string, so the SDK's ``get_input`` sees the
    original value; we unwrap the string here to the same effect. A body that is a plain
    JSON value (curl, Postman) is the input as is. ValueError when the body is not JSON.
    """
    text = body.decode("utf-8").strip()
    if not text:
        return None
    value = _parse_json(text)
    if isinstance(value, str):
        try:
            _parse_json(value)
        except JsonTooDeep:
            raise
        except ValueError:
            return text
        return value
    return text


class JsonTooDeep(ValueError):
    """A management request body nested deeper than ``MAX_JSON_DEPTH``."""


def _parse_json(text: str) -> Any:
    """``json.loads``, refusing (``JsonTooDeep``) JSON nested deeper than ``MAX_JSON_DEPTH``.

    Hardening fix (tests/hardening): the Functions host reads these bodies with Json.NET,
    whose default ``MaxDepth`` (64) refuses deeper JSON. Unbounded, JSON too deep for
    ``json.loads`` here answered 500, and an event just shallow enough to pass (about 945
    levels) overflowed the stack when the SDK parsed it again during replay, failing the
    orchestration (measured with episodes on the event loop). The bound keeps every
    accepted body far from Python's recursion limit, wherever it is parsed later.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep("JSON nested too deeply") from None
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        pending.extend((child, depth + 1) for child in children)
    return value


def _count(text: str) -> int | None:
    """A paging number (``top``, the continuation token), or None when it is not one.

    Hardening fix: ``str.isdigit`` also accepts digits ``int`` refuses ("²") and numbers
    too long to convert, both of which made the query answer 500.
    """
    return int(text) if _COUNT.fullmatch(text) else None


def _check_instance_id(instance_id: str) -> str | None:
    """Why an instance id cannot be used, or None."""
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        return f"instance ids are at most {MAX_INSTANCE_ID_LENGTH} characters"
    if any(c in _BAD_ID_CHARS or ord(c) < 32 or ord(c) == 127 for c in instance_id):
        return "instance ids cannot contain '/', '\\', '#', '?' or control characters"
    return None


class ManagementApi:
    """Answers management requests by calling a ``DurableService``."""

    def __init__(self, service: DurableService, urls: DurableUrls) -> None:
        self._service = service
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
            return _error(404, "no such management route")
        for match in matches:
            handler = match.target.get(request.method)
            if handler is not None:
                return await self._guarded(handler, request, match.values, via_rpc)
        allowed = sorted({m for match in matches for m in match.target})
        return web.Response(status=405, text=json.dumps({"Message": "method not allowed"}),
                            content_type=JSON_TYPE, headers={"Allow": ", ".join(allowed)})

    async def _guarded(self, handler: Handler, request: web.Request,
                       values: Mapping[str, str], via_rpc: bool) -> web.Response:
        """Run a handler, turning host failures into 5xx answers without internals."""
        try:
            return await handler(request, values, via_rpc)
        except StorageUnavailable:
            log.warning("management %s: storage unavailable", request.method, exc_info=True)
            return _error(503, "the task hub's storage is unavailable; try again")
        except Exception:
            # The SDK parses every answer as JSON, so even a bug answers in JSON.
            log.exception("management %s failed", request.method)
            return _error(500, "Something went wrong while processing your request")

    def _accepted(self, instance_id: str) -> web.Response:
        """202 with the management URLs, Location and Retry-After (the async HTTP pattern)."""
        urls = self._urls.management_urls(instance_id)
        body = {key: urls[key] for key in (
            "id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
            "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri")}
        return _json(202, body, {"Location": urls["statusQueryGetUri"], "Retry-After": "10"})

    async def _start(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Start an orchestration; optionally wait for it (``timeout``/``pollingInterval``)."""
        name = values["functionName"]
        instance_id = values.get("instanceId") or None
        if instance_id is not None and (problem := _check_instance_id(instance_id)):
            return _error(400, problem)
        try:
            input_text = _start_input(await request.read())
        except ValueError:  # hardening fix: includes JsonTooDeep, see _parse_json
            return _error(400, "Invalid JSON content")
        try:
            new_id = await self._service.start_new(name, instance_id, input_text)
        except UnknownOrchestrator:
            return _error(400, f"The function '{name}' doesn't exist, is disabled, or is not "
                               "an orchestrator function.")
        except InstanceExists:
            return _error(409, f"An instance with ID '{instance_id}' already exists and has "
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
            record = await self._service.get_instance(instance_id)
            if record is not None and record.runtime_status == RuntimeStatus.COMPLETED:
                return _json(200, _json_value(record.output))
            if record is not None and record.runtime_status.has_ended:
                return self._status_response(request, record, True, None, via_rpc)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self._accepted(instance_id)
            await asyncio.sleep(min(max(interval, 0.01), remaining))

    async def _raise_event(self, request: web.Request, values: Mapping[str, str],
                           via_rpc: bool) -> web.Response:
        """Deliver an external event; the data stays the JSON the caller sent."""
        instance_id, event = values["instanceId"], values["eventName"]
        record = await self._service.get_instance(instance_id)
        if record is None:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        if record.runtime_status.has_ended:
            return _error(410, f"Instance '{instance_id}' has already ended.")
        if request.content_type.lower() != JSON_TYPE:
            return _error(400, "Only application/json request content is supported")
        raw = (await request.read()).decode("utf-8", errors="replace").strip()
        try:
            if raw:
                _parse_json(raw)  # hardening fix: bounded depth, see _parse_json
        except ValueError:
            return _error(400, "Invalid JSON content")
        try:
            await self._service.raise_event(instance_id, event, raw or None)
        except InstanceNotFound:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        except InstanceEnded:
            return _error(410, f"Instance '{instance_id}' has already ended.")
        return web.Response(status=202)

    async def _operation(self, request: web.Request, values: Mapping[str, str],
                         via_rpc: bool) -> web.Response:
        """``terminate``; the other instance operations are not implemented here."""
        operation = values["operation"].lower()
        if operation in _UNSUPPORTED_OPERATIONS:
            return _error(501, f"'{operation}' is not supported by the local host")
        if operation != "terminate":
            return _error(404, f"no instance operation '{values['operation']}'")
        instance_id = values["instanceId"]
        record = await self._service.get_instance(instance_id)
        if record is None:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        if record.runtime_status.has_ended:
            return _error(410, f"Instance '{instance_id}' has already ended.")
        try:
            await self._service.terminate(instance_id, request.query.get("reason"))
        except InstanceNotFound:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        except InstanceEnded:
            return _error(410, f"Instance '{instance_id}' has already ended.")
        return web.Response(status=202)

    def _status_response(self, request: web.Request, record: InstanceRecord,
                         show_input: bool, history: list[dict[str, Any]] | None,
                         via_rpc: bool) -> web.Response:
        """200 when ended (500 for Failed if asked), else 202 with Location/Retry-After."""
        body = status_json(record, show_input, history)
        if not record.runtime_status.has_ended:
            headers = {"Retry-After": "5"}
            if not via_rpc:
                headers["Location"] = str(request.url)
            return _json(202, body, headers)
        failed = record.runtime_status == RuntimeStatus.FAILED
        if failed and _flag(request.query, "returnInternalServerErrorOnFailure", False):
            return _json(500, body)
        return _json(200, body)

    async def _status(self, request: web.Request, values: Mapping[str, str],
                      via_rpc: bool) -> web.Response:
        """One instance's status (``showHistory``, ``showHistoryOutput``, ``showInput``)."""
        instance_id = values["instanceId"]
        record = await self._service.get_instance(instance_id)
        if record is None:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        history = None
        if _flag(request.query, "showHistory", False):
            events = await self._service.get_history(instance_id)
            history = history_json(events, _flag(request.query, "showHistoryOutput", False))
        # Azure shows the input unless told not to; the SDK only ever sends showInput=True.
        show_input = _flag(request.query, "showInput", True)
        return self._status_response(request, record, show_input, history, via_rpc)

    async def _select(self, request: web.Request) -> list[InstanceRecord]:
        """Instances matching the query's filters, oldest first; ValueError if malformed."""
        query = request.query
        records = await self._service.query(
            _statuses(query), _moment(query, "createdTimeFrom"), _moment(query, "createdTimeTo"))
        prefix = query.get("instanceIdPrefix")
        if prefix:
            records = [r for r in records if r.instance_id.startswith(prefix)]
        return records

    async def _query(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Many instances' statuses, paged by ``top`` and ``x-ms-continuation-token``."""
        try:
            records = await self._select(request)
        except ValueError as err:
            return _error(400, str(err))
        offset = _count(request.headers.get(CONTINUATION_HEADER, "")) or 0
        size = _count(request.query.get("top", "")) or len(records)
        page = records[offset:offset + size]
        show_input = _flag(request.query, "showInput", True)
        headers = {}
        if offset + size < len(records):
            headers[CONTINUATION_HEADER] = str(offset + size)
        return _json(200, [status_json(r, show_input) for r in page], headers)

    async def _purge(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Delete one ended instance's record and history."""
        instance_id = values["instanceId"]
        record = await self._service.get_instance(instance_id)
        if record is None:
            return _error(404, f"No instance with ID '{instance_id}' found.")
        if not record.runtime_status.has_ended:
            return _error(412, "Only orchestrations in a terminal state can be purged, but "
                               f"'{instance_id}' is {record.runtime_status.value}")
        if not await self._service.purge(instance_id):
            return _error(404, f"No instance with ID '{instance_id}' found.")
        return _json(200, {"instancesDeleted": 1})

    async def _purge_by(self, request: web.Request, values: Mapping[str, str],
                        via_rpc: bool) -> web.Response:
        """Delete every ended instance matching the filters (``createdTimeFrom`` required)."""
        if not request.query.get("createdTimeFrom"):
            return _error(400, "Please provide value for 'createdTimeFrom' parameter.")
        try:
            records = await self._select(request)
        except ValueError as err:
            return _error(400, str(err))
        deleted = 0
        for record in records:
            if record.runtime_status.has_ended and await self._service.purge(
                    record.instance_id):
                deleted += 1
        if not deleted:
            return _error(404, "no instance matched")
        return _json(200, {"instancesDeleted": deleted})

    async def _no_entities(self, request: web.Request, values: Mapping[str, str],
                           via_rpc: bool) -> web.Response:
        """Entities are not hosted yet."""
        return _error(501, "durable entities are not supported by the local host")
