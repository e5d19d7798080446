"""The management API's entity routes, answering as the extension's HttpApiHandler.cs does."""

from __future__ import annotations

import json
import unicodedata
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from devhost.taskhub.base import Message
from tests.host.entities.conftest import CounterApp, unique_key
from tests.support.local_host import HOSTILE

ENTITIES = "entities"


async def test_signal_with_op_then_read(counter_app: CounterApp) -> None:
    """POST ``?op=`` is 202 and the body is the input; GET answers the state itself (200),
    404 (no body) before it exists. A JSON string body reaches the SDK as its value, as the
    SDK's own client sends it."""
    key = unique_key("route")
    missing = await counter_app.management("GET", f"{ENTITIES}/Counter/{key}")
    assert (missing.status, missing.text) == (404, "")
    signalled = await counter_app.management("POST", f"{ENTITIES}/Counter/{key}?op=add",
                                             json_body=json.dumps(6))
    assert (signalled.status, signalled.text) == (202, "")
    await counter_app.value(key, 6)
    read = await counter_app.management("GET", f"{ENTITIES}/counter/{key}")
    assert (read.status, read.body) == (200, 6)
    assert read.headers["Content-Type"].startswith("application/json")


async def test_plain_text_body_is_a_string_input(counter_app: CounterApp) -> None:
    """A body that is not ``application/json`` is the input as a string (the SDK then reads
    ``"7"`` as 7); a raw JSON number is passed on as it is, which the SDK's ``get_input``
    cannot decode, so that operation fails and the state is unchanged, as on Azure."""
    key = unique_key("text")
    text = await counter_app.management("POST", f"{ENTITIES}/Counter/{key}?op=add", data="7",
                                        content_type="text/plain")
    assert text.status == 202
    await counter_app.value(key, 7)
    raw = await counter_app.management("POST", f"{ENTITIES}/Counter/{key}?op=add", data="3",
                                       content_type="application/json")
    assert raw.status == 202
    after = await counter_app.management("POST", f"{ENTITIES}/Counter/{key}?op=add",
                                         data="1", content_type="text/plain")
    assert after.status == 202
    await counter_app.value(key, 8)


async def test_bad_requests_are_refused_and_change_nothing(counter_app: CounterApp) -> None:
    """400 ``{"Message"}`` for a body that is not JSON, a key with ``/``, an entity the app
    does not have (ArgumentExceptions, in SignalEntityAsyncInternal's order); no entity is
    created by any of them."""
    key = unique_key("bad")
    bad_json = await counter_app.management("POST", f"{ENTITIES}/Counter/{key}?op=add",
                                            data="{", content_type="application/json")
    assert bad_json.status == 400
    assert bad_json.body["Message"].startswith("Could not parse JSON content: ")
    bad_key = await counter_app.management("POST", f"{ENTITIES}/Counter/a%2Fb?op=add",
                                           json_body=json.dumps(1))
    assert (bad_key.status, bad_key.body) == (400, {"Message": (
        "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control "
        "characters.')")})
    unknown = await counter_app.management("POST", f"{ENTITIES}/Nope/{key}?op=add",
                                           json_body=json.dumps(1))
    assert (unknown.status, unknown.body) == (400, {"Message": (
        "The function 'nope' doesn't exist, is disabled, or is not an entity function. "
        "Additional info: The following are the known entity functions: 'Counter'.")})
    listed = await counter_app.management("GET", f"{ENTITIES}/counter?fetchState=true")
    assert all(item["entityId"]["key"] != key for item in listed.body)


async def test_list_entities_of_a_name_with_state_on_request(counter_app: CounterApp) -> None:
    """GET ``entities/{name}`` lists the existing entities of that name: ``entityId``,
    ``lastOperationTime`` and ``state`` (null unless ``fetchState=true``); ``top`` pages with
    ``x-ms-continuation-token``; a deleted entity is not listed (HandleListEntitiesRequestAsync,
    EntityQueryResult without IncludeDeleted)."""
    keys = sorted(unique_key(f"list{n}") for n in range(3))
    for number, key in enumerate(keys, start=1):
        await counter_app.call("POST", f"/api/counters/{key}/add", json_body=number)
        await counter_app.value(key, number)
    await counter_app.call("POST", f"/api/counters/{keys[2]}/delete")
    await counter_app.settled(keys[2], lambda s: not s.exists)

    plain = await counter_app.management("GET", f"{ENTITIES}/Counter")
    mine = [item for item in plain.body if item["entityId"]["key"] in keys]
    assert [item["entityId"] for item in mine] == [{"name": "counter", "key": k}
                                                   for k in keys[:2]]
    assert all(item["state"] is None and item["lastOperationTime"].endswith("Z")
               for item in mine)
    fetched = await counter_app.management("GET", f"{ENTITIES}/counter?fetchState=true")
    states = {item["entityId"]["key"]: item["state"] for item in fetched.body}
    assert {k: states[k] for k in keys[:2]} == {keys[0]: 1, keys[1]: 2}

    first = await counter_app.management("GET", f"{ENTITIES}?top=1")
    assert len(first.body) == 1
    token = first.headers["x-ms-continuation-token"]
    second = await counter_app.management("GET", f"{ENTITIES}?top=1",
                                          headers={"x-ms-continuation-token": token})
    assert second.body != first.body and len(second.body) == 1


async def test_delete_verb_signals_delete(counter_app: CounterApp) -> None:
    """DELETE on an entity signals the ``delete`` operation (202)."""
    key = unique_key("verb")
    await counter_app.call("POST", f"/api/counters/{key}/add", json_body=3)
    await counter_app.value(key, 3)
    deleted = await counter_app.management("DELETE", f"{ENTITIES}/Counter/{key}")
    assert deleted.status == 202
    await counter_app.settled(key, lambda s: not s.exists)
    gone = await counter_app.management("GET", f"{ENTITIES}/Counter/{key}")
    assert gone.status == 404


async def test_dollar_key_reads_the_empty_key(counter_app: CounterApp) -> None:
    """A signal without a key goes to the empty key, which a read names ``$``."""
    signalled = await counter_app.management("POST", f"{ENTITIES}/Counter?op=add",
                                             json_body=json.dumps(9))
    assert signalled.status == 202
    await counter_app.value("", 9)
    read = await counter_app.management("GET", f"{ENTITIES}/Counter/$")
    assert (read.status, read.body) == (200, 9)


# Hostile keys and bodies -------------------------------------------------------------------

# SignalEntityAsyncInternal refuses these in keys (DurableClient.IsInvalidCharacter).
REFUSED_KEY_CHARACTERS = set("/\\#?")
# Bodies posted as application/json, and whether Json.NET parses them.
JSON_BODIES = {b"": True, b'"1"': True, b"{}": True, b"{": False, b"[1,": False,
               b"\xff\xfe": False, b"1 2": False}


def refused_key(key: str) -> bool:
    """Whether Azure refuses ``key``: a refused character or a control character."""
    return any(ch in REFUSED_KEY_CHARACTERS or unicodedata.category(ch) == "Cc" for ch in key)


@HOSTILE
@given(key=st.text(max_size=12).filter(lambda k: k not in (".", "..")),
       body=st.sampled_from(sorted(JSON_BODIES)))
async def test_hostile_signals_are_refused_before_anything_is_sent(
        memory_app: CounterApp, key: str, body: bytes) -> None:
    """Any key and body: 202 and one queued request, or 400 (unparsable JSON first, then a
    refused key, HandlePostEntityOperationRequestAsync's order) and nothing queued."""
    assert memory_app.host.runtime is not None
    hub = memory_app.host.runtime.hub
    sent: list[object] = []
    original = hub.send

    async def counting(messages: list[Message]) -> None:
        sent.extend(messages)
        await original(messages)

    hub.send = counting  # type: ignore[method-assign]
    try:
        reply = await memory_app.management(
            "POST", f"{ENTITIES}/Counter/{quote(key, safe='')}?op=add", data=body,
            content_type="application/json")
    finally:
        hub.send = original  # type: ignore[method-assign]
    if body and not JSON_BODIES[body]:
        assert reply.status == 400 and reply.body["Message"].startswith(
            "Could not parse JSON content"), reply.text
    elif refused_key(key):
        assert (reply.status, reply.body["Message"]) == (400, (
            "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control "
            "characters.')"))
    else:
        assert reply.status == 202, reply.text
        assert len(sent) == 1
        return
    assert sent == []
