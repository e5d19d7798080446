"""Translate between aiohttp and ``azure.functions``: requests in, responses out.

The worker hands a function a ``func.HttpRequest`` whose headers and query are plain
string maps; like the Functions host, repeated names are joined (headers with ``", "``,
query values with ``","``). A function's ``func.HttpResponse`` becomes the HTTP answer with
its status, headers and body; without an explicit ``Content-Type`` header, the response's
mimetype and charset make one, as the worker does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

__all__ = ["error_response", "joined", "to_func_request", "to_web_response"]

JSON_TYPE = "application/json"
# Headers aiohttp computes itself from the body it sends.
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def joined(values: MultiMapping[str], separator: str) -> dict[str, str]:
    """A multi-map as a plain map, repeated names joined with ``separator``."""
    out: dict[str, str] = {}
    for name in values:
        if name not in out:
            out[name] = separator.join(values.getall(name))
    return out


def to_func_request(request: web.Request, body: bytes,
                    route_params: Mapping[str, str]) -> func.HttpRequest:
    """The ``func.HttpRequest`` the function receives for ``request``."""
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=joined(request.headers, ", "),
        params=joined(request.query, ","),
        route_params=dict(route_params),
        body=body,
    )


def _content_type(response: func.HttpResponse) -> str:
    """``mimetype; charset=...`` for text-like types, the bare mimetype otherwise."""
    mimetype = response.mimetype or "text/plain"
    textual = mimetype.startswith("text/") or mimetype.endswith(("json", "xml", "javascript"))
    return f"{mimetype}; charset={response.charset}" if textual else mimetype


def to_web_response(result: Any) -> web.Response:
    """The HTTP answer for what a function returned.

    ``func.HttpResponse`` is mapped as is; ``str``/``bytes`` become a 200 text body and
    None an empty 204, as the worker's ``$return`` converter allows. Anything else raises
    ``TypeError`` (the caller answers 500).
    """
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str | bytes):
        result = func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"the function returned {type(result).__name__}, "
                        "expected func.HttpResponse")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in result.headers.items():
        if name.lower() not in _HOP_HEADERS:
            headers.add(name, value)
    if "Content-Type" not in headers:
        headers["Content-Type"] = _content_type(result)
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers)


def error_response(status: int, error: str, **details: Any) -> web.Response:
    """The host's own JSON error answer: ``{"error": ..., **details}``."""
    body = {"error": error, **details}
    return web.Response(status=status, text=json.dumps(body), content_type=JSON_TYPE)
