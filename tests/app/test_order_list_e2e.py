"""The staff list over plain HTTP on a host child process on Azurite (the tables' own query).

The list reads the durable query page by page (``HttpApiHandler.cs``,
``HandleGetStatusRequestAsync``: ``top`` and the ``x-ms-continuation-token`` header), here
through the Azure Storage task hub rather than the memory one.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.host_process import (
    FUNCTION_KEY,
    HostProcess,
    HostStarter,
    OrderApi,
    unique_order_id,
)

pytestmark = pytest.mark.e2e

FLOW_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def host(start_host: HostStarter) -> HostProcess:
    """The app on the module's hub."""
    return start_host()


@pytest.fixture(scope="module")
def api(host: HostProcess) -> OrderApi:
    """The HTTP API of ``host``."""
    return OrderApi(host)


def every_page(api: OrderApi, query: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Follow the list's continuation tokens to the end: every entry, and the pages read."""
    entries: list[dict[str, Any]] = []
    params = dict(query)
    pages = 0
    while True:
        reply = requests.get(api.url("orders"), params=params, timeout=HTTP_TIMEOUT,
                             headers={"x-functions-key": FUNCTION_KEY})
        assert reply.status_code == 200, reply.text
        pages += 1
        body = reply.json()
        entries += body["orders"]
        if "continuationToken" not in body:
            return entries, pages
        params = {**query, "continuationToken": body["continuationToken"]}


def test_waiting_orders_are_listed_newest_first_across_pages(api: OrderApi) -> None:
    """Three waiting orders come back one page each, newest first, each with its items."""
    placed = [unique_order_id("list") for _ in range(3)]
    for order_id in placed:
        assert api.place(order_id).status_code == 202
    for order_id in placed:
        api.wait_for_stage(order_id, "awaiting_approval", timeout=FLOW_TIMEOUT)
    entries, pages = every_page(api, {"stage": "awaiting_approval", "pageSize": "1"})
    listed = [entry for entry in entries if entry["orderId"] in placed]
    assert sorted(entry["orderId"] for entry in listed) == sorted(placed)
    assert pages == len(entries) >= 3
    keys = [(entry["createdAt"], entry["orderId"]) for entry in entries]
    assert keys == sorted(keys, reverse=True)
    for entry in listed:
        assert entry["items"] == [{"name": "Neapolitan pizza with pineapple", "quantity": 1}]
        assert entry["stage"] == "awaiting_approval"


def test_the_list_needs_the_function_key(api: OrderApi) -> None:
    """Without the key the list is 401."""
    reply = requests.get(api.url("orders"), params={"stage": "awaiting_approval"},
                         timeout=HTTP_TIMEOUT)
    assert reply.status_code == 401
