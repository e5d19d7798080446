"""``GET /api/openapi.json``: generated from the models and route constants, and true to the app.

The document is checked against the functions the app registers (route, method, key), and
schemathesis runs against it on the host over the memory hub: every answer of every route
must be documented, conform to its schema, and none may be a 5xx.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from http_triggers.api_contract import OPERATIONS
from http_triggers.openapi import build_document, server_url_of
from models.errors import ErrorBody
from tests.app.test_function_index import built_functions
from tests.support.local_host import HttpApi, body_of

pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")

# Everything "every answer conforms" means, plus: a request without the key is refused.
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
          "ignored_auth")
SCHEMATHESIS_TIMEOUT_SECONDS = 600
MAX_EXAMPLES = 40


def http_functions() -> dict[str, Any]:
    """The app's HTTP trigger bindings, by function name."""
    return {name: function.get_trigger() for name, function in built_functions().items()
            if function.get_trigger().type == "httpTrigger"}


def test_every_route_of_the_app_is_in_the_document_as_registered():
    """Each HTTP function is one operation: its route, method and key need, no more, no less."""
    triggers = http_functions()
    assert {operation.function for operation in OPERATIONS} == set(triggers)
    for operation in OPERATIONS:
        trigger = triggers[operation.function]
        assert trigger.route == operation.route
        assert [str(method) for method in trigger.methods] == [operation.method]
        needs_key = str(trigger.auth_level) == "FUNCTION"
        assert needs_key == operation.needs_function_key, operation.function


def test_the_document_is_valid_openapi_3_1():
    """The generated document passes the OpenAPI 3.1 specification's own schema."""
    document = build_document("http://127.0.0.1:7071/api")
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_function_key_secures_exactly_the_staff_routes():
    """The list and the approve route carry the key schemes; the others are anonymous."""
    document = build_document("http://127.0.0.1:7071/api")
    keyed = {entry["operationId"] for path in document["paths"].values()
             for entry in path.values() if "security" in entry}
    assert keyed == {"ListOrders", "ApproveOrder"}
    schemes = document["components"]["securitySchemes"]
    assert schemes["functionKey"] == {**schemes["functionKey"], "type": "apiKey",
                                      "in": "header", "name": "x-functions-key"}
    assert (schemes["functionKeyQuery"]["in"], schemes["functionKeyQuery"]["name"]) == (
        "query", "code")
    for path in document["paths"].values():
        for entry in path.values():
            assert ("401" in entry["responses"]) == ("security" in entry)


def test_schemas_are_the_models_json_schemas():
    """Component schemas are the pydantic models' own: the error body is ErrorBody's."""
    document = build_document("http://127.0.0.1:7071/api")
    schemas = document["components"]["schemas"]
    expected = ErrorBody.model_json_schema(by_alias=True, mode="serialization",
                                           ref_template="#/components/schemas/{model}")
    assert schemas["ErrorBody"] == {key: value for key, value in expected.items()
                                    if key != "$defs"}
    approve = document["paths"]["/orders/{orderId}/approve"]["post"]
    assert approve["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApprovalRequest"}
    assert set(approve["responses"]) == {"202", "400", "401", "404", "409", "410", "413", "503"}
    order_id = approve["parameters"][0]
    assert (order_id["name"], order_id["in"], order_id["schema"]["pattern"]) == (
        "orderId", "path", "^[A-Za-z0-9_-]{8,64}$")


@pytest.mark.parametrize(("url", "server"), [
    ("http://127.0.0.1:7071/api/openapi.json", "http://127.0.0.1:7071/api"),
    ("https://shop.example/v2/openapi.json?x=1", "https://shop.example/v2"),
])
def test_the_server_is_where_the_document_was_read(url, server):
    """The document's server is its own URL's base, so it fits any host and route prefix."""
    assert server_url_of(url) == server


async def test_the_document_is_served_anonymously(api: HttpApi):
    """``GET /api/openapi.json`` needs no key and names the host it was read from."""
    reply = await api.request("GET", "/api/openapi.json")
    assert reply.status == 200
    document = body_of(reply)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": f"{api.host.base_url}/api"}]
    for secret in (api.key("function"), api.key("master"), api.key("system")):
        assert secret not in reply.text


async def run_schemathesis(api: HttpApi, workdir: Path) -> tuple[int, str]:
    """Run schemathesis's CLI on the served document with the function key; its exit, output.

    The CLI runs in its own process group, stopped with the test if it overruns.
    """
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{api.host.base_url}/api/openapi.json",
        "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", "13",
        "--workers", "1", "--generation-database", "none", "--no-color",
        "--request-timeout", "60", "--suppress-health-check", "all",
        "--header", f"x-functions-key: {api.key('function')}",
    ]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        output, _ = await asyncio.wait_for(process.communicate(), SCHEMATHESIS_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_schemathesis_finds_every_answer_documented_and_no_server_error(
        api: HttpApi, tmp_path: Path):
    """schemathesis against the document on the host: no 5xx, every answer conforms."""
    code, output = await run_schemathesis(api, tmp_path)
    assert code == 0, output
    assert "No issues found" in output, output
    # Really exercised: many cases, and every operation schemathesis selected was tested.
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert generated and selected and tested, output
    assert int(generated.group(1)) == int(generated.group(2)) >= 10 * len(OPERATIONS)
    assert int(tested.group(1)) == int(selected.group(1)) >= len(OPERATIONS), output


@pytest.mark.parametrize("text", ["Margherita", "Crème brûlée", "  padded  ", "\ttabbed\n",
                                  "bell\x07", "nul\x00", "esc\x1b[31m", "del\x7f", "nel\x85",
                                  "n\x85el", "c1\x9bx",
                                  "inner\ttab", "form\x0cfeed", "line\nbreak"])
def test_documented_text_patterns_never_refuse_what_the_routes_take(text):
    """The name and note patterns in the document refuse control characters as the models do,
    and never refuse a text the models accept."""
    import re

    from pydantic import ValidationError

    from models.approval import ApprovalRequest
    from models.base import NO_CONTROL_BUT_LAYOUT_PATTERN, NO_CONTROL_PATTERN
    from models.orders import OrderItem

    def accepted(model: Any, body: dict[str, Any]) -> bool:
        try:
            model.model_validate(body)
        except ValidationError:
            return False
        return True

    name_ok = accepted(OrderItem, {"name": text, "quantity": 1})
    note_ok = accepted(ApprovalRequest, {"approved": True, "note": text})
    # Python's re reads the ECMA-262 \uXXXX escapes the same way.
    name_pattern = re.fullmatch(NO_CONTROL_PATTERN[1:-1], text) is not None
    note_pattern = re.fullmatch(NO_CONTROL_BUT_LAYOUT_PATTERN[1:-1], text) is not None
    assert name_pattern or not name_ok
    assert note_pattern == note_ok
    inner = text.strip()
    if any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in inner):
        assert not name_ok
