"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the app's routes, generated.

Paths, methods and security come from ``api_contract.OPERATIONS`` (which uses the route
constants the decorators use); every schema comes from the pydantic models, as JSON Schema
2020-12, which OpenAPI 3.1 takes as it is. Nothing in the document is written by hand.
"""

from __future__ import annotations

import re
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from constants import OPENAPI_FUNCTION, OPENAPI_ROUTE
from http_triggers.api_contract import JSON, LOCATION, OPERATIONS, RETRY_AFTER, Answer, Operation
from http_triggers.responses import json_response

bp = df.Blueprint()

API_TITLE = "Order flow"
API_VERSION = "1.0.0"
COMPONENTS = "#/components/schemas/{model}"
# The function key, as Azure Functions accepts it: a header or the ``code`` query parameter.
SECURITY_SCHEMES = {
    "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                    "description": "A function key of the app (Azure Functions)."},
    "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code",
                         "description": "The same key as the `code` query parameter."},
}
KEYED: list[dict[str, list[str]]] = [{"functionKey": []}, {"functionKeyQuery": []}]
HEADER_SCHEMAS = {
    LOCATION: {"description": "The order's status URL.",
               "schema": {"type": "string", "format": "uri"}},
    RETRY_AFTER: {"description": "Seconds to wait before retrying.",
                  "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}
# Each model's ``$ref``, by the model and the direction it travels in.
Refs = dict[Any, dict[str, Any]]
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\?)?\}")


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Every model the operations use, with the direction it travels in."""
    found: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for operation in OPERATIONS:
        for model in (operation.body, operation.query):
            if model is not None:
                found[(model, "validation")] = None
        for answer in operation.answers:
            if isinstance(answer.body, type):
                found[(answer.body, "serialization")] = None
    return list(found)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query value's schema without its ``null`` branch (a query has no null)."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1:
        return schema
    kept = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**kept, **branches[0]}


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """One query parameter per field of ``model``, by its wire name."""
    shape = schemas[model.__name__]
    required = set(shape.get("required", []))
    return [{"name": name, "in": "query", "required": name in required,
             "schema": _not_null(schema)}
            for name, schema in shape["properties"].items()]


def _type_schema(kind: Any) -> dict[str, Any]:
    """A route parameter's schema: a JSON schema as given, or a type's."""
    if isinstance(kind, dict):
        return dict(kind)
    schema: dict[str, Any] = TypeAdapter(kind).json_schema(ref_template=COMPONENTS)
    return schema


def _paths_of(route: str) -> list[tuple[str, list[str], str]]:
    """The document's paths for a route template: ``{name?}`` makes a path with and without.

    Each path comes with the route parameters it carries and the suffix that keeps its
    operation id apart (the optional parameters' names, capitalised; "" without them).
    """
    names = [(match.group(1), bool(match.group(2))) for match in _PARAMETER.finditer(route)]
    full = _PARAMETER.sub(lambda match: "{" + match.group(1) + "}", route)
    optional = [name for name, is_optional in names if is_optional]
    if not optional:
        return [("/" + full, [name for name, _ in names], "")]
    shorter = _PARAMETER.sub(lambda m: "" if m.group(2) else "{" + m.group(1) + "}", route)
    return [
        ("/" + shorter.rstrip("/"), [name for name, is_optional in names if not is_optional], ""),
        ("/" + full, [name for name, _ in names],
         "".join(name[0].upper() + name[1:] for name in optional)),
    ]


def _response(answer: Answer, refs: Refs) -> dict[str, Any]:
    """One status's entry: description, body by media type, headers it always carries."""
    entry: dict[str, Any] = {"description": answer.description}
    if isinstance(answer.body, type):
        entry["content"] = {JSON: {"schema": refs[(answer.body, "serialization")]}}
    elif answer.body:
        entry["content"] = {media: {"schema": {"type": "object"} if media == JSON
                                    else {"type": "string"}} for media in answer.body}
    if answer.headers:
        entry["headers"] = {name: {**HEADER_SCHEMAS[name], "required": True}
                            for name in answer.headers}
    return entry


def _operation(operation: Operation, parameters: list[str], id_suffix: str,
               schemas: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """The document's entry for one operation on one path."""
    entry: dict[str, Any] = {"operationId": operation.function + id_suffix,
                             "summary": operation.summary,
                             "tags": list(operation.tags)}
    params = [{"name": name, "in": "path", "required": True,
               "schema": _type_schema(operation.path_types[name])} for name in parameters]
    if operation.query is not None:
        params += _query_parameters(operation.query, schemas)
    if params:
        entry["parameters"] = params
    if operation.body is not None:
        entry["requestBody"] = {"required": True,
                                "content": {JSON: {"schema": refs[(operation.body,
                                                                     "validation")]}}}
    if operation.needs_function_key:
        entry["security"] = KEYED
    entry["responses"] = {str(answer.status): _response(answer, refs)
                          for answer in operation.answers}
    return entry


def build_document(server_url: str) -> dict[str, Any]:
    """The whole document, with ``server_url`` (the routes' base, e.g. ``.../api``) as server."""
    keyed, definitions = models_json_schema(_models(), by_alias=True, ref_template=COMPONENTS)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    refs: Refs = dict(keyed)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        for path, parameters, id_suffix in _paths_of(operation.route):
            paths.setdefault(path, {})[operation.method.lower()] = _operation(
                operation, parameters, id_suffix, schemas, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": API_TITLE, "version": API_VERSION,
                 "description": "The order app's routes. Errors are "
                                "{\"error\", \"details\": [{\"field\", \"message\"}]}."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def server_url_of(url: str) -> str:
    """The routes' base URL from the document's own URL (its query dropped)."""
    base = url.split("?", 1)[0].rstrip("/")
    return base[: -len(OPENAPI_ROUTE)].rstrip("/") if base.endswith(OPENAPI_ROUTE) else base


@bp.function_name(OPENAPI_FUNCTION)
@bp.route(route=OPENAPI_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of the app's routes (anonymous)."""
    return json_response(build_document(server_url_of(req.url)), 200)
