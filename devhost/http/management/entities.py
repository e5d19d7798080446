"""The management API's entity routes (``/runtime/webhooks/durabletask/entities/...``).

As the extension's ``HttpApiHandler.cs`` answers them:

==========================================  ======  ==========================================
route                                       verb    answers
==========================================  ======  ==========================================
``entities/{name}/{key}?op=``               POST    202 (signal ``op``, "" when absent); the
                                                    body is the input: JSON for
                                                    ``application/json`` (400 if it does not
                                                    parse), else the text as a string
``entities/{name}/{key}``                   DELETE  202 (signal ``delete``)
``entities/{name}/{key}``                   GET     200 + the state; 404 when it does not
                                                    exist; key ``$`` means the empty key
``entities[/{name}]``                       GET     200 + ``[{entityId, lastOperationTime,
                                                    state}]`` of existing entities
                                                    (``fetchState``, ``top``,
                                                    ``lastOperationTimeFrom``/``To``,
                                                    ``x-ms-continuation-token``)
==========================================  ======  ==========================================

A refused id (empty name, a key with ``/ \\ # ?`` or control characters) or an entity the app
does not have is a 400 ``{"Message"}`` (the ``ArgumentException`` the handler catches).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from devhost.entities.client import EntityClient
from devhost.entities.ids import EntityId, InvalidEntityId
from devhost.http.management import params
from devhost.http.management.bodies import (
    JSON_TYPE,
    empty,
    error,
    json_response,
    json_value,
    net_time,
)

__all__ = ["ENTITY_ROUTE", "EntityRoutes"]

ENTITY_ROUTE = "entities/{entityName?}/{entityKey?}"
CONTINUATION_HEADER = "x-ms-continuation-token"
# EntityQuery.PageSize's default.
DEFAULT_PAGE_SIZE = 100
# HttpApiHandler.EmptyEntityKeySymbol: the key of a read that means "".
EMPTY_KEY_SYMBOL = "$"


class EntityRoutes:
    """Answers the entity routes by calling an ``EntityClient``."""

    def __init__(self, client: EntityClient) -> None:
        self._client = client

    async def get(self, request: web.Request, values: Mapping[str, str],
                  via_rpc: bool) -> web.Response:
        """Read one entity (name and key given), else list entities (of the name given)."""
        name = values.get("entityName") or ""
        key = values.get("entityKey") or ""
        if not key:
            return await self._list(request, name or None)
        if key == EMPTY_KEY_SYMBOL:
            key = ""
        try:
            entity = EntityId.of(name, key)
        except InvalidEntityId as refused:
            return error(400, str(refused))
        state = await self._client.read(entity)
        if state is None:
            return empty(404)
        return web.Response(status=200, text=state, content_type=JSON_TYPE)

    async def signal(self, request: web.Request, values: Mapping[str, str],
                     via_rpc: bool) -> web.Response:
        """Signal the entity: ``op`` from the query, or ``delete`` for a DELETE."""
        if request.method == "DELETE":
            operation = "delete"
        else:
            operation = params.query_values(request.query).get("op", "")
        body = await request.read()
        input_text: str | None = None
        if body:
            text = body.decode("utf-8", errors="replace")
            if request.content_type.lower() == JSON_TYPE:
                try:
                    value = params.parse_json(text)
                except ValueError as bad:
                    return error(400, f"Could not parse JSON content: {bad}")
                # JToken.ToString(Formatting.None): the JSON itself, compact.
                input_text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            else:
                # Any other content is the input as a string (MessagePayloadDataConverter).
                input_text = json.dumps(text, ensure_ascii=False)
        try:
            entity = EntityId.of(values.get("entityName") or "", values.get("entityKey") or "")
            await self._client.signal(entity, operation, input_text)
        except InvalidEntityId as refused:
            return error(400, str(refused))
        return web.Response(status=202)

    async def _list(self, request: web.Request, name: str | None) -> web.Response:
        """Existing entities a page at a time, as ``HandleListEntitiesRequestAsync``."""
        query = params.query_values(request.query)
        found = await self._client.query(
            name, params.lenient_moment(query, "lastOperationTimeFrom"),
            params.lenient_moment(query, "lastOperationTimeTo"))
        fetch_state = params.flag(query, "fetchState", False)
        offset = params.count(request.headers.get(CONTINUATION_HEADER, "").strip()) or 0
        size = params.count(query.get("top", "")) or DEFAULT_PAGE_SIZE
        page = found[offset:offset + size]
        headers = {}
        if offset + size < len(found):
            headers[CONTINUATION_HEADER] = str(offset + size)
        body = [{"entityId": status.entity.as_json(),
                 "lastOperationTime": net_time(status.last_operation),
                 "state": json_value(status.state) if fetch_state else None}
                for status in page]
        return json_response(200, body, headers)

