"""Hostile input on every route: generated (hypothesis) and named cases, over real HTTP.

Every answer must be a 4xx, never a 5xx; the app's routes answer with their error shape
``{"error", "details"}``; a refused request starts nothing, raises nothing and pushes nothing.
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from devhost.engine.protocol import EventType
from devhost.host import LocalHost
from fcm_emulator import FcmEmulator
from tests.support.local_host import (
    HOSTILE,
    WAIT_SECONDS,
    HttpApi,
    Reply,
    at_stage,
    events_of,
    order_body,
    outcome_of,
    segment,
    stage_of,
)

TOKEN = "device-token-hostile"
ORDER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
ID_ALPHABET = string.ascii_letters + string.digits + "_-"
ITEM = {"name": "Margherita", "quantity": 2}
ORDER = {"regId": TOKEN, "items": [ITEM]}
ORDER_LIMIT = 16 * 1024
APPROVAL_LIMIT = 4 * 1024
WAITING_ID = "hostile-target-0001"

PLACE = "POST /api/orders (body)"
STATUS = "GET /api/orders/{orderId} (id)"
APPROVE_ID = "POST /api/orders/{orderId}/approve (id)"
APPROVE_BODY = "POST /api/orders/{orderId}/approve (body)"
MANAGEMENT_ID = "management instances/{id} (id, system key)"
MANAGEMENT_QUERY = "management instances?... (query, system key)"
MANAGEMENT_BODY = "management raiseEvent/start (body, system key)"


def compact(value: Any) -> bytes:
    """JSON without spaces (NaN and infinities allowed, as Python writes them)."""
    return json.dumps(value, separators=(",", ":")).encode()


# Strategies ----------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
not_str = json_values.filter(lambda v: not isinstance(v, str))
not_int = json_values.filter(lambda v: isinstance(v, bool) or not isinstance(v, int))
not_bool = json_values.filter(lambda v: not isinstance(v, bool))
not_list = json_values.filter(lambda v: not isinstance(v, list))
not_dict = json_values.filter(lambda v: not isinstance(v, dict))
not_str_or_null = not_str.filter(lambda v: v is not None)

letters = st.text(alphabet=string.ascii_letters, min_size=1, max_size=12)
blank = st.text(alphabet=" \t\r\n", max_size=5)
control = st.sampled_from([chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32),
                                            *range(127, 160))])
any_control = control | st.sampled_from(["\t", "\n", "\r"])


def around(middle: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``middle`` with letters on both sides (so stripping cannot remove it)."""
    return st.tuples(letters, middle, letters).map("".join)


non_ascii = st.characters(min_codepoint=0x80, exclude_categories=["Cs"])

bad_names = (not_str | blank | st.text(alphabet=string.ascii_letters, min_size=101, max_size=300)
             | around(any_control))
bad_quantities = not_int | st.integers(max_value=0) | st.integers(min_value=100)
bad_tokens = (not_str | blank
              | st.text(alphabet=string.ascii_letters, min_size=4097, max_size=4200)
              | around(any_control) | around(non_ascii) | around(st.just(" ")))
bad_order_ids = (not_str_or_null
                 | st.text(alphabet=ID_ALPHABET, max_size=7)
                 | st.text(alphabet=ID_ALPHABET, min_size=65, max_size=100)
                 | st.text(min_size=8, max_size=64).filter(lambda s: not ORDER_ID.fullmatch(s)))
extra_order_keys = st.text(max_size=20).filter(lambda k: k not in {"regId", "items", "orderId"})
bad_items = st.one_of(
    st.fixed_dictionaries({"name": bad_names, "quantity": st.integers(1, 99)}),
    st.fixed_dictionaries({"name": letters, "quantity": bad_quantities}),
    st.just({"name": "Margherita"}),
    st.just({"quantity": 1}),
    st.tuples(st.text(max_size=12).filter(lambda k: k not in {"name", "quantity"}),
              json_values).map(lambda kv: {**ITEM, kv[0]: kv[1]}),
    not_dict,
)


def without(key: str) -> dict[str, Any]:
    """The valid order without ``key``."""
    return {k: v for k, v in ORDER.items() if k != key}


def plausible_order(document: Any) -> bool:
    """Could this be an order? (an object with regId and items and no other keys)"""
    return (isinstance(document, dict) and {"regId", "items"} <= set(document)
            and set(document) <= {"regId", "items", "orderId"})


hostile_orders = st.one_of(
    bad_tokens.map(lambda v: {**ORDER, "regId": v}),
    (not_list | st.just([]) | st.just([ITEM] * 51)).map(lambda v: {**ORDER, "items": v}),
    st.tuples(bad_items, st.integers(0, 3)).map(
        lambda t: {**ORDER, "items": [ITEM] * t[1] + [t[0]]}),
    bad_order_ids.map(lambda v: {**ORDER, "orderId": v}),
    st.tuples(extra_order_keys, json_values).map(lambda kv: {**ORDER, kv[0]: kv[1]}),
    st.sampled_from([without("regId"), without("items"),
                     {"reg_id": TOKEN, "items": [ITEM]}, {"RegId": TOKEN, "items": [ITEM]},
                     [ORDER], {"order": ORDER}]),
    not_dict,
).map(compact)
random_order_bytes = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5).map(compact),
    st.integers(0, len(compact(ORDER)) - 1).map(lambda n: compact(ORDER)[:n]),
)

APPROVAL = {"approved": True, "note": "no pineapple on a Neapolitan"}
bad_notes = (not_str_or_null | st.text(alphabet=string.ascii_letters, min_size=501, max_size=700)
             | around(control))
hostile_approvals = st.one_of(
    not_bool.map(lambda v: {"approved": v}),
    bad_notes.map(lambda v: {"approved": True, "note": v}),
    st.tuples(st.text(max_size=12).filter(lambda k: k not in {"approved", "note"}),
              json_values).map(lambda kv: {**APPROVAL, kv[0]: kv[1]}),
    st.sampled_from([{}, {"note": "no decision"}, {"Approved": True}, [APPROVAL],
                     {"approval": APPROVAL}]),
    not_dict,
).map(compact)
random_approval_bytes = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.text(max_size=10), json_values, max_size=4).map(compact),
    st.integers(0, len(compact(APPROVAL)) - 1).map(lambda n: compact(APPROVAL)[:n]),
)


def plausible_approval(raw: bytes) -> bool:
    """Could these bytes be a decision? (an object holding a boolean ``approved``)"""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return (isinstance(document, dict) and isinstance(document.get("approved"), bool)
            and set(document) <= {"approved", "note"})


ODD_IDS = [
    "..", ".", "...", "%2e%2e", "%2E%2E", "'", '"', "''", "' or PartitionKey ne '",
    "x' or '1' eq '1", "$filter", "$filter=PartitionKey eq 'a'", "$top=1000", "*", "%",
    "%25", "a%2Fb", "a/b", "a\\b", "#frag", "?code=x", "order id", "order-0001\n",
    "order-0001 ", "\x00order-0001", "order\x00-0001", "<script>alert(1)</script>",
    "заказ-00001", "ordér-00001", "😀😀😀😀😀😀😀😀", "\u202eorder-0001", "x" * 65,
    "x" * 5000, "1", "-" * 7, "runtime/webhooks/durabletask",
]
hostile_ids = st.one_of(
    st.text(min_size=1, max_size=80),
    st.text(alphabet=ID_ALPHABET, min_size=1, max_size=100),
    st.lists(st.sampled_from(["'", " or ", " and ", "PartitionKey", "RowKey", " ne ", " eq ",
                              "$filter", "..", "/", "%", "\\", "*", "(", ")", "a"]),
             min_size=1, max_size=8).map("".join),
    st.sampled_from(ODD_IDS),
)


# Checks ----------------------------------------------------------------------------------------

def assert_app_error(reply: Reply, *statuses: int) -> None:
    """A 4xx (one of ``statuses``) with the app's ``{"error", "details"}`` body."""
    assert reply.status in statuses, (reply.status, reply.text[:300])
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    assert isinstance(reply.body, dict) and set(reply.body) == {"error", "details"}, reply.text
    assert isinstance(reply.body["error"], str) and reply.body["error"]
    assert isinstance(reply.body["details"], list)
    for detail in reply.body["details"]:
        assert set(detail) == {"field", "message"}, detail


@contextlib.asynccontextmanager
async def nothing_started(host: LocalHost, fcm: FcmEmulator) -> AsyncIterator[None]:
    """The block starts no instance and sends no push (compared with before it ran)."""
    assert host.runtime is not None
    instances, pushes = len(await host.runtime.client.query()), len(fcm.requests())
    yield
    assert len(await host.runtime.client.query()) == instances
    assert len(fcm.requests()) == pushes


def expected_for_id(order_id: str) -> int:
    """What a well-formed request for ``order_id`` must get: 404 if it is an id, else 400."""
    return 404 if ORDER_ID.fullmatch(order_id) else 400


@pytest.fixture
async def waiting(host: LocalHost, api: HttpApi) -> AsyncIterator[str]:
    """An order waiting for approval; after the test it must still wait, untouched."""
    assert host.runtime is not None
    assert (await api.place(order_body(WAITING_ID, TOKEN))).status == 202
    await host.runtime.client.wait_for(WAITING_ID, at_stage("awaiting_approval"), WAIT_SECONDS)
    yield WAITING_ID
    record = await host.runtime.client.get_instance(WAITING_ID)
    assert stage_of(record) == "awaiting_approval" and outcome_of(record) is None
    history = await host.runtime.client.get_history(WAITING_ID)
    assert events_of(history, EventType.EVENT_RAISED) == []


# Place order -----------------------------------------------------------------------------------

@HOSTILE
@given(body=hostile_orders)
async def test_place_order_refuses_generated_invalid_orders(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, body: bytes) -> None:
    """Protection: PlaceOrderRequest validation (types, bounds, unknown keys, control chars)."""
    async with nothing_started(host, fcm):
        assert_app_error(await api.place(raw=body, route=PLACE), 400)


@HOSTILE
@given(body=random_order_bytes)
async def test_place_order_refuses_random_bytes(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, body: bytes) -> None:
    """Protection: parse_body's JSON/object checks before any validation or start."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    assume(not plausible_order(document))
    async with nothing_started(host, fcm):
        assert_app_error(await api.place(raw=body, route=PLACE), 400)


NAMED_ORDER_BODIES: dict[str, bytes] = {
    "empty": b"",
    "space": b"   ",
    "open-brace": b"{",
    "mismatched": b"{]",
    "missing-value": b'{"regId": }',
    "single-quotes": b"{'regId': 'x', 'items': []}",
    "form-encoded": b"regId=x&items=1",
    "trailing-garbage": compact(ORDER) + b"x",
    "two-documents": compact(ORDER) + compact(ORDER),
    "truncated-half": compact(ORDER)[: len(compact(ORDER)) // 2],
    "truncated-last-brace": compact(ORDER)[:-1],
    "nul": b"\x00",
    "raw-nul-in-string": b'{"regId": "tok\x00en", "items": [{"name": "a", "quantity": 1}]}',
    "invalid-utf8": b'{"regId": "\xff\xfe", "items": [{"name": "a", "quantity": 1}]}',
    "lone-surrogate": b'{"regId": "\\ud800", "items": [{"name": "a", "quantity": 1}]}',
    "array-for-object": compact([ORDER]),
    "array-for-item": compact({**ORDER, "items": [["Margherita", 2]]}),
    "object-for-items": compact({**ORDER, "items": ITEM}),
    "string-for-items": compact({**ORDER, "items": "Margherita"}),
    "number-for-token": compact({**ORDER, "regId": 12345}),
    "string-quantity": compact({**ORDER, "items": [{"name": "a", "quantity": "1"}]}),
    "float-quantity": compact({**ORDER, "items": [{"name": "a", "quantity": 1.0}]}),
    "bool-quantity": compact({**ORDER, "items": [{"name": "a", "quantity": True}]}),
    "nan-quantity": b'{"regId": "t", "items": [{"name": "a", "quantity": NaN}]}',
    "huge-quantity": b'{"regId": "t", "items": [{"name": "a", "quantity": 1' + b"0" * 5000
                     + b"}]}",
    "overflow-quantity": b'{"regId": "t", "items": [{"name": "a", "quantity": 1e400}]}',
    "null-body-fields": compact({"regId": None, "items": None}),
    "nul-in-token": compact({**ORDER, "regId": "tok\x00en"}),
    "newline-in-token": compact({**ORDER, "regId": "tok\nen"}),
    "unicode-token": compact({**ORDER, "regId": "токен-устройства"}),
    "nul-in-name": compact({**ORDER, "items": [{"name": "Pizza\x00", "quantity": 1}]}),
    "escape-in-name": compact({**ORDER, "items": [{"name": "Pi\x1b[31mzza", "quantity": 1}]}),
    "c1-in-name": compact({**ORDER, "items": [{"name": "Piz\x85za", "quantity": 1}]}),
    "long-name": compact({**ORDER, "items": [{"name": "x" * 10_000, "quantity": 1}]}),
    "long-token": compact({**ORDER, "regId": "t" * 4097}),
    "51-items": compact({**ORDER, "items": [ITEM] * 51}),
    "odata-order-id": compact({**ORDER, "orderId": "' or PartitionKey ne '"}),
    "dotdot-order-id": compact({**ORDER, "orderId": "../../../etc"}),
    "deep-arrays-8000": b"[" * 8000 + b"]" * 8000,
    "deep-objects-2000": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "deep-in-items": b'{"regId": "t", "items": ' + b"[" * 5000 + b"]" * 5000 + b"}",
}
HUGE_ORDER_BODIES: dict[str, bytes] = {
    "one-byte-over": compact({**ORDER, "pad": "x" * (ORDER_LIMIT - len(compact(ORDER)))}),
    "huge-token": compact({**ORDER, "regId": "t" * 20_000}),
    "one-mebibyte": b" " * (1024 * 1024) + compact(ORDER),
    "ten-mebibytes": b"x" * (10 * 1024 * 1024),
    "deep-arrays-100k": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", list(NAMED_ORDER_BODIES.values()), ids=list(NAMED_ORDER_BODIES))
async def test_place_order_refuses_named_hostile_bodies(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, body: bytes) -> None:
    """Protection: parse_body (JSON, object, depth) and the order contract, answered 400."""
    assert len(body) <= ORDER_LIMIT
    async with nothing_started(host, fcm):
        assert_app_error(await api.place(raw=body, route=PLACE), 400)


@pytest.mark.parametrize("body", list(HUGE_ORDER_BODIES.values()), ids=list(HUGE_ORDER_BODIES))
async def test_place_order_refuses_bodies_over_16_kib(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, body: bytes) -> None:
    """Protection: the 16 KiB body limit, checked before parsing (413)."""
    assert len(body) > ORDER_LIMIT
    async with nothing_started(host, fcm):
        assert_app_error(await api.place(raw=body, route=PLACE), 413)


async def test_place_order_takes_unicode_names_and_the_limit_exactly(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator) -> None:
    """Protection: the refusals above are not over-broad (unicode names, exactly 16 KiB pass)."""
    name = "Pizza 🍕 crème brûlée, 辣"
    body = compact({"regId": TOKEN, "orderId": "unicode-name-0001",
                    "items": [{"name": name, "quantity": 1}]})
    padded = body[:-1] + b" " * (ORDER_LIMIT - len(body)) + b"}"
    assert len(padded) == ORDER_LIMIT
    reply = await api.place(raw=padded)
    assert reply.status == 202, reply.text
    assert host.runtime is not None
    assert len(await host.runtime.client.query()) == 1


# Status and approve ids ------------------------------------------------------------------------

@HOSTILE
@given(order_id=hostile_ids)
async def test_status_route_refuses_hostile_ids(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, order_id: str) -> None:
    """Protection: order_id_from_route checks the id before it reaches the durable client."""
    async with nothing_started(host, fcm):
        reply = await api.status(segment(order_id), route=STATUS)
    assert_app_error(reply, expected_for_id(order_id))


@HOSTILE
@given(order_id=hostile_ids)
async def test_approve_route_refuses_hostile_ids(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, order_id: str) -> None:
    """Protection: order_id_from_route on the approve route (404 only for well-formed ids)."""
    async with nothing_started(host, fcm):
        reply = await api.approve(segment(order_id), APPROVAL, route=APPROVE_ID)
    assert_app_error(reply, expected_for_id(order_id))


RAW_ID_SEGMENTS = ["..", ".", "%2e%2e", "%2E%2E", "%2e", "'", "%27%20or%20PartitionKey%20ne%20%27",
                   "$filter", "%24filter%3DPartitionKey%20eq%20%27x%27", "a%2Fb", "a%5Cb",
                   "%00", "%ZZ", "%", "%C3%28", "%ED%A0%80aaaaaaaa", "aaaaaaaa%0A",
                   "aaaaaaaa%0D%0A", "%E2%80%AEaaaaaaaa", "x" * 6000]


@pytest.mark.parametrize("raw", RAW_ID_SEGMENTS)
async def test_raw_odd_path_segments_are_refused_by_the_app(
        host: LocalHost, api: HttpApi, fcm: FcmEmulator, raw: str) -> None:
    """Protection: the host routes every one-segment id to the app, which answers 400."""
    async with nothing_started(host, fcm):
        assert_app_error(await api.status(raw, route=STATUS), 400)
        assert_app_error(await api.approve(raw, APPROVAL, route=APPROVE_ID), 400)


# Approve body ----------------------------------------------------------------------------------

@HOSTILE
@given(body=hostile_approvals)
async def test_approve_refuses_generated_invalid_decisions(
        api: HttpApi, waiting: str, body: bytes) -> None:
    """Protection: ApprovalRequest validation before any event is raised (400, no EventRaised)."""
    assert_app_error(await api.approve(waiting, raw=body, route=APPROVE_BODY), 400)


@HOSTILE
@given(body=random_approval_bytes)
async def test_approve_refuses_random_bytes(api: HttpApi, waiting: str, body: bytes) -> None:
    """Protection: parse_body on the approve route; nothing reaches the waiting order."""
    assume(not plausible_approval(body))
    assert_app_error(await api.approve(waiting, raw=body, route=APPROVE_BODY), 400)


NAMED_APPROVAL_BODIES: dict[str, tuple[bytes, int]] = {
    "empty": (b"", 400),
    "truncated": (compact(APPROVAL)[:-1], 400),
    "string-bool": (b'{"approved": "true"}', 400),
    "int-bool": (b'{"approved": 1}', 400),
    "null-bool": (b'{"approved": null}', 400),
    "array-for-object": (compact([APPROVAL]), 400),
    "nul-in-note": (compact({"approved": True, "note": "ok\x00"}), 400),
    "escape-in-note": (compact({"approved": True, "note": "\x1b]0;pwned\x07"}), 400),
    "long-note": (compact({"approved": True, "note": "n" * 501}), 400),
    "deep-arrays-2000": (b"[" * 2000 + b"]" * 2000, 400),
    "deep-in-note": (b'{"approved": true, "note": ' + b"[" * 1500 + b"]" * 1500 + b"}", 400),
    "one-byte-over": (compact({**APPROVAL, "pad": "x" * (APPROVAL_LIMIT
                                                        - len(compact(APPROVAL)))}), 413),
    "deep-arrays-100k": (b"[" * 100_000 + b"]" * 100_000, 413),
    "one-mebibyte": (b" " * (1024 * 1024), 413),
}


@pytest.mark.parametrize(("body", "status"), list(NAMED_APPROVAL_BODIES.values()),
                         ids=list(NAMED_APPROVAL_BODIES))
async def test_approve_refuses_named_hostile_bodies(
        api: HttpApi, waiting: str, body: bytes, status: int) -> None:
    """Protection: the approve route's 4 KiB limit and ApprovalRequest contract."""
    assert_app_error(await api.approve(waiting, raw=body, route=APPROVE_BODY), status)


# Management API (system key) -------------------------------------------------------------------

def assert_management_refusal(reply: Reply, *statuses: int) -> None:
    """A 4xx answer from the management API: a JSON error (Message, ExceptionMessage) for a
    400, no body for a 404, as the extension's HttpApiHandler answers."""
    assert reply.status in statuses, (reply.status, reply.text[:300])
    if reply.status == 404:
        assert reply.text == "", reply.text[:300]
    else:
        assert isinstance(reply.body, dict), reply.text[:300]


@HOSTILE
@given(instance_id=hostile_ids, operation=st.sampled_from(["status", "raise", "terminate",
                                                           "purge"]))
async def test_management_api_refuses_hostile_ids(
        host: LocalHost, api: HttpApi, waiting: str, instance_id: str, operation: str) -> None:
    """Protection: ids are data to the management API; an unknown one is 4xx, others untouched."""
    assume(instance_id != waiting)
    path = f"instances/{segment(instance_id)}"
    method, path = {
        "status": ("GET", path),
        "raise": ("POST", f"{path}/raiseEvent/Approval"),
        "terminate": ("POST", f"{path}/terminate"),
        "purge": ("DELETE", path),
    }[operation]
    reply = await api.management(method, path, data=compact(APPROVAL), route=MANAGEMENT_ID)
    assert_management_refusal(reply, 400, 404)
    assert host.runtime is not None
    assert [r.instance_id for r in await host.runtime.client.query()] == [waiting]


short_text = st.text(max_size=30)
odd_times = short_text | st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
                                          "2030-01-01T12:00:00Z", "2030-02-30", "' or 1 eq 1"])
odd_counts = short_text | st.sampled_from(["²", "٣", "9" * 4400, "-1", "0", "1e3", " 1"])
query_parameters = st.fixed_dictionaries({}, optional={
    "runtimeStatus": short_text | st.just("Running,' or 1 eq 1"),
    "createdTimeFrom": odd_times, "createdTimeTo": odd_times,
    "instanceIdPrefix": short_text | st.sampled_from(["'", "hostile", "*"]),
    "top": odd_counts, "showInput": short_text})


@HOSTILE
@given(params=query_parameters,
       continuation=st.none() | st.text(alphabet=string.printable.strip(), max_size=30)
       | st.sampled_from(["²", "٣", "9" * 4400, "-1", "0", "1e3"]),
       method=st.sampled_from(["GET", "DELETE"]))
async def test_management_query_refuses_hostile_parameters(
        host: LocalHost, api: HttpApi, waiting: str, params: dict[str, str],
        continuation: str | None, method: str) -> None:
    """Protection: query filters and paging values are parsed defensively (200/400/404, no 5xx).

    A purge by filter deletes live instances too unless its runtimeStatus names an ended
    status (as Azure's does), so the DELETE keeps the waiting order out with one.
    """
    if method == "DELETE":
        params = {**params, "createdTimeFrom": params.get("createdTimeFrom") or "x",
                  "runtimeStatus": params.get("runtimeStatus", "") + ",Completed"}
    query = "&".join(f"{segment(k)}={segment(v)}" for k, v in params.items())
    query += f"&code={segment(api.key('system'))}"
    headers = {} if continuation is None else {"x-ms-continuation-token":
                                               continuation.encode("utf-8").decode("latin-1")}
    reply = await api.request(method, "/runtime/webhooks/durabletask/instances", query=query,
                              headers=headers, route=MANAGEMENT_QUERY)
    assert reply.status in (200, 400, 404), (reply.status, reply.text[:300])
    assert reply.body is not None or reply.status == 404
    assert host.runtime is not None
    assert [r.instance_id for r in await host.runtime.client.query()] == [waiting]


@pytest.mark.parametrize("body", [
    b"[" * 65 + b"]" * 65,
    b"[" * 945 + b"]" * 945,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"\xff\xfe\x00",
    b"{",
], ids=["deep-arrays-65", "deep-arrays-945", "deep-arrays-100k", "deep-objects-50k",
        "not-utf8", "truncated"])
async def test_management_refuses_hostile_event_and_start_bodies(
        host: LocalHost, api: HttpApi, waiting: str, body: bytes) -> None:
    """Protection: the management API's JSON checks on raise-event and start bodies (400)."""
    raised = await api.management("POST", f"instances/{waiting}/raiseEvent/Approval",
                                  data=body, route=MANAGEMENT_BODY)
    assert_management_refusal(raised, 400)
    started = await api.management("POST", "orchestrators/OrderOrchestrator/hostile-start-01",
                                   data=body, route=MANAGEMENT_BODY)
    assert_management_refusal(started, 400)
    assert host.runtime is not None
    assert [r.instance_id for r in await host.runtime.client.query()] == [waiting]
