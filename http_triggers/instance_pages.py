"""Every page of a durable instance query, read where the SDK client sends its own calls.

The Durable extension answers ``GET {rpcBaseUrl}instances/`` a page at a time (100 without
``top``) and names the next page in the ``x-ms-continuation-token`` response header, which
the caller sends back as a request header. The SDK's ``get_status_by`` and
``get_status_all`` return the first page only and drop that header, so a query that must
see every match (the staff list sorts them newest first) makes the same call itself, page
by page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timezone
from urllib.parse import urlencode

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.durable_functions.models.utils import http_utils

CONTINUATION_HEADER = "x-ms-continuation-token"
PAGE_SIZE = 100
# A bound on one scan, so one request can never read the task hub without end.
MAX_PAGES = 200
REQUEST_TIMEOUT_SECONDS = 30


class InstanceQueryFailed(Exception):
    """The durable extension refused or broke off a query (the caller answers 503)."""


def _rpc_base_url(client: df.DurableOrchestrationClient) -> str:
    """The binding's ``rpcBaseUrl``: the SDK keeps it on its binding object, unexported."""
    base: str | None = client._orchestration_bindings.rpc_base_url
    if not base:
        raise InstanceQueryFailed("the durable client binding has no rpcBaseUrl")
    return base


async def _sdk_session() -> aiohttp.ClientSession:
    """The durable SDK's own process-wide session (not ours to close).

    The query then travels exactly as the SDK client's calls do, over whatever transport
    the host set up for them.
    """
    session: aiohttp.ClientSession = await http_utils._get_session()
    return session


def _query_url(client: df.DurableOrchestrationClient,
               runtime_statuses: Iterable[OrchestrationRuntimeStatus],
               created_to: datetime | None) -> str:
    """The query's URL: statuses, the input shown, a full page, the creation-time bound."""
    query = {"showInput": "true", "top": str(PAGE_SIZE)}
    statuses = ",".join(status.value for status in runtime_statuses)
    if statuses:
        query["runtimeStatus"] = statuses
    if created_to is not None:
        moment = created_to.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        query["createdTimeTo"] = moment
    return f"{_rpc_base_url(client)}instances/?{urlencode(query, safe=',:')}"


async def all_instances(client: df.DurableOrchestrationClient,
                        runtime_statuses: Iterable[OrchestrationRuntimeStatus] = (),
                        created_to: datetime | None = None
                        ) -> list[DurableOrchestrationStatus]:
    """Every instance in ``runtime_statuses`` (all when empty) created up to ``created_to``.

    Raises ``InstanceQueryFailed`` on any answer but 200, on a body that is not a list, and
    when the scan passes ``MAX_PAGES`` pages.
    """
    url = _query_url(client, runtime_statuses, created_to)
    found: list[DurableOrchestrationStatus] = []
    token: str | None = None
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    try:
        session = await _sdk_session()
        for _ in range(MAX_PAGES):
            headers = {CONTINUATION_HEADER: token} if token else {}
            async with session.get(url, headers=headers, timeout=timeout) as answer:
                if answer.status != 200:
                    raise InstanceQueryFailed(f"instance query answered {answer.status}")
                page = await answer.json(content_type=None)
                next_token = answer.headers.get(CONTINUATION_HEADER)
            if not isinstance(page, list):
                raise InstanceQueryFailed("instance query answered something not a list")
            found.extend(DurableOrchestrationStatus.from_json(item) for item in page)
            if not next_token:
                return found
            if next_token == token:
                raise InstanceQueryFailed("instance query repeated its continuation token")
            token = next_token
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        raise InstanceQueryFailed(f"instance query failed: {error}") from error
    raise InstanceQueryFailed(f"instance query passed {MAX_PAGES} pages")
