"""The staff list ``GET /api/orders`` and the items in ``GET /api/orders/{orderId}``, on the host.

Orders are really placed and run on a LocalHost over the memory task hub with a virtual
clock; the list reads them back through the durable client's management query, which pages
at 100 and names the next page in ``x-ms-continuation-token`` as the Durable extension's
``HttpApiHandler`` does.
"""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devhost.host import LocalHost
from tests.support.local_host import (
    HOSTILE,
    WAIT_SECONDS,
    HttpApi,
    Reply,
    assert_nothing_leaks,
    at_stage,
    body_of,
    client_of,
    decided,
    details_of,
    hub_of,
    runtime_of,
    segment,
)

pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")

TOKEN = "fcm-registration-token-of-the-customers-phone-0123456789"


def body(order_id: str, *items: tuple[str, int]) -> dict[str, Any]:
    """A place-order body with the given items (one pizza when none)."""
    lines = items or (("Neapolitan pizza with pineapple", 1),)
    return {"orderId": order_id, "regId": TOKEN,
            "items": [{"name": name, "quantity": quantity} for name, quantity in lines]}


async def listed(api: HttpApi, query: str = "stage=awaiting_approval",
                 key: str | None = "function") -> Reply:
    """``GET /api/orders`` with ``query`` and the key named (None: no key)."""
    headers = {"x-functions-key": api.key(key)} if key else {}
    return await api.request("GET", "/api/orders", query=query, headers=headers)


async def place_waiting(api: HttpApi, host: LocalHost, order_id: str,
                        *items: tuple[str, int]) -> None:
    """Place an order and wait until it asks for approval."""
    assert (await api.place(body(order_id, *items))).status == 202
    await client_of(host).wait_for(order_id, at_stage("awaiting_approval"), WAIT_SECONDS)


def ids(reply: Reply) -> list[str]:
    """The order ids of a list answer, in its order."""
    return [order["orderId"] for order in body_of(reply)["orders"]]


async def every_page(api: HttpApi, query: str, token: str = "") -> tuple[list[str], int]:
    """Follow continuation tokens (from ``token``) to the end: every id, and the pages read."""
    seen: list[str] = []
    pages = 0
    while True:
        suffix = f"&continuationToken={token}" if token else ""
        reply = await listed(api, query + suffix)
        assert reply.status == 200, reply.text
        pages += 1
        seen += ids(reply)
        token = body_of(reply).get("continuationToken", "")
        if not token:
            return seen, pages


async def test_without_a_key_the_list_is_401(api, host):
    """The list is a staff route: no key or a wrong key is 401, and nothing is read."""
    assert (await listed(api, key=None)).status == 401
    assert (await listed(api, key="wrong")).status == 401


async def test_awaiting_approval_lists_the_undecided_orders_with_items_and_deadline(
        api, host, clock):
    """Only orders still waiting for a decision are listed, with items and approval times."""
    await place_waiting(api, host, "order-waiting-1", ("Margherita", 2), ("Tiramisu", 1))
    await clock.advance(seconds=1)
    await place_waiting(api, host, "order-decided-1")
    hub_of(host).allow_activities(0)  # the decided order's final push stays held
    approve = await api.approve("order-decided-1", {"approved": True})
    assert approve.status == 202
    await client_of(host).wait_for("order-decided-1", decided, WAIT_SECONDS)

    reply = await listed(api)
    assert reply.status == 200
    (order,) = body_of(reply)["orders"]
    assert order["orderId"] == "order-waiting-1"
    assert order["stage"] == "awaiting_approval"
    assert order["items"] == [{"name": "Margherita", "quantity": 2},
                              {"name": "Tiramisu", "quantity": 1}]
    record = await hub_of(host).get_instance("order-waiting-1")
    assert record is not None and record.custom_status is not None
    assert order["approval"]["expiresAt"] > order["approval"]["requestedAt"]
    assert "outcome" not in order["approval"]
    assert "continuationToken" not in body_of(reply)
    assert_nothing_leaks(reply, TOKEN)


async def test_other_stages_are_listed_too(api, host):
    """``stage=processing`` lists the order held there; no stage lists every order."""
    hub_of(host).allow_activities(2)
    assert (await api.place(body("order-cooking-1"))).status == 202
    await client_of(host).wait_for("order-cooking-1", at_stage("processing"), WAIT_SECONDS)
    assert ids(await listed(api, "stage=processing")) == ["order-cooking-1"]
    assert ids(await listed(api, "stage=awaiting_approval")) == []
    assert ids(await listed(api, "")) == ["order-cooking-1"]


async def test_finished_orders_are_listed_under_their_final_stage(api, host):
    """An approved order that completed is listed as finished, and no longer as waiting."""
    await place_waiting(api, host, "order-done-0001")
    assert (await api.approve("order-done-0001", {"approved": True})).status == 202
    await client_of(host).wait_for("order-done-0001", timeout=WAIT_SECONDS)
    assert ids(await listed(api, "stage=finished")) == ["order-done-0001"]
    assert ids(await listed(api, "stage=awaiting_approval")) == []


async def test_pages_are_newest_first_and_a_later_order_never_shifts_them(api, host, clock):
    """Pages of 2 come newest first; an order placed between pages is not in the later ones."""
    for number in range(5):
        await place_waiting(api, host, f"order-page-{number}")
        await clock.advance(seconds=1)
    first = await listed(api, "stage=awaiting_approval&pageSize=2")
    assert ids(first) == ["order-page-4", "order-page-3"]
    token = body_of(first)["continuationToken"]
    await place_waiting(api, host, "order-page-new")
    rest, _ = await every_page(api, "stage=awaiting_approval&pageSize=2", token)
    assert rest == ["order-page-2", "order-page-1", "order-page-0"]
    everything, pages = await every_page(api, "stage=awaiting_approval&pageSize=2")
    assert everything[0] == "order-page-new"
    assert pages == 3


async def test_orders_created_in_one_second_page_by_id_without_loss(api, host):
    """Orders with the same creation time sort by id (descending) and page without gaps."""
    hub_of(host).hold_episodes()  # Pending: stage received, same virtual second
    placed = [f"order-same-{number:02d}" for number in range(7)]
    for order_id in placed:
        assert (await api.place(body(order_id))).status == 202
    seen, pages = await every_page(api, "stage=received&pageSize=3")
    assert seen == sorted(placed, reverse=True)
    assert pages == 3


async def test_more_than_a_durable_page_is_read_through_its_continuation_token(
        api, host, calls):
    """With 130 orders the durable query answers in two pages of at most 100; all are listed.

    The pages follow ``HttpApiHandler.cs`` (``HandleGetStatusRequestAsync``): ``top`` sizes
    them and ``x-ms-continuation-token`` goes back as a request header for the next.
    """
    hub_of(host).hold_episodes()
    placed = [f"order-many-{number:03d}" for number in range(130)]
    for order_id in placed:
        assert (await api.place(body(order_id))).status == 202
    before = calls.methods().count("query")
    seen, pages = await every_page(api, "stage=received&pageSize=100")
    assert seen == sorted(placed, reverse=True)
    assert pages == 2
    # Each list request read both durable pages (the second narrowed by creation time).
    assert calls.methods().count("query") - before == 4


@pytest.mark.parametrize(("query", "field"), [
    ("stage=cooking", "stage"),
    ("stage=", "stage"),
    ("stage=awaiting_approval&stage=received", "stage"),
    ("pageSize=0", "pageSize"),
    ("pageSize=101", "pageSize"),
    ("pageSize=ten", "pageSize"),
    ("continuationToken=not*a*token", "continuationToken"),
    ("continuationToken=bm90IGpzb24", "continuationToken"),
    ("continuationToken=e30", "continuationToken"),
    ("status=Running", "status"),
    ("page_size=2", "page_size"),
])
async def test_a_bad_query_is_400_naming_the_parameter(api, host, calls, query, field):
    """Each bad or unknown parameter is a 400 whose details name it; nothing is queried."""
    reply = await listed(api, query)
    assert reply.status == 400
    assert field in [detail["field"] for detail in details_of(reply)]
    assert "query" not in calls.methods()


async def test_the_key_as_code_parameter_is_no_unknown_parameter(api, host):
    """``?code=`` carries the function key (as Azure allows): the list accepts it."""
    reply = await listed(api, f"stage=received&code={api.key('function')}", key=None)
    assert reply.status == 200
    assert body_of(reply) == {"orders": []}


async def test_storage_down_is_503_with_retry_after(api, host):
    """When the durable query fails the list answers 503 with Retry-After, as every route."""
    runtime = runtime_of(host)

    async def broken(*args: Any) -> Any:
        from devhost.errors import StorageUnavailable
        raise StorageUnavailable("storage is down")

    runtime.client.query = broken
    reply = await listed(api)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "5"


async def test_status_view_shows_the_items(api, host):
    """``GET /api/orders/{orderId}`` lists what was ordered, and never the device token."""
    await place_waiting(api, host, "order-items-01", ("Calzone", 3))
    reply = await api.status("order-items-01")
    assert reply.status == 200
    assert body_of(reply)["items"] == [{"name": "Calzone", "quantity": 3}]
    assert_nothing_leaks(reply, TOKEN)


@HOSTILE
@given(name=st.sampled_from(["stage", "pageSize", "continuationToken", "Stage", "x"]),
       value=st.text(max_size=300))
async def test_hostile_query_values_are_answered_200_or_400_naming_the_parameter(
        api, host, name, value):
    """Any text in any parameter is a 200 or a 400 whose details name that parameter."""
    reply = await api.request("GET", "/api/orders", query=f"{name}={segment(value)}",
                              headers={"x-functions-key": api.key("function")},
                              route="list orders")
    assert reply.status in (200, 400), reply.text
    if reply.status == 400:
        assert name in [detail["field"] for detail in details_of(reply)]
    else:
        assert body_of(reply) == {"orders": []}
