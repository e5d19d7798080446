"""JSON answers and request-body parsing shared by every route."""

import json
import re
from typing import TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from models.errors import ErrorBody, details_from_validation
from models.orders import ORDER_ID_PATTERN

ModelT = TypeVar("ModelT", bound=BaseModel)

_ORDER_ID = re.compile(ORDER_ID_PATTERN)
_ORDERS_SEGMENT = re.compile(r"/orders(?=/|$)", re.IGNORECASE)
JSON_TYPE = "application/json"


def json_response(body: object, status: int, headers: dict[str, str] | None = None
                  ) -> func.HttpResponse:
    """A JSON answer with the given status."""
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype=JSON_TYPE, headers=headers
    )


def error_response(status: int, error: str, details: list[dict] | None = None
                   ) -> func.HttpResponse:
    """The app's one error shape: ``{"error": ..., "details": [...]}``."""
    body = ErrorBody.model_validate({"error": error, "details": details or []})
    return json_response(body.model_dump(), status)


RETRY_AFTER_SECONDS = 5


def service_unavailable() -> func.HttpResponse:
    """503 when the durable back end cannot be reached (storage down, host restarting).

    The caller may simply retry: a rejected start started nothing, and a start with a
    client-chosen orderId is safe to repeat.
    """
    response = error_response(503, "orders are temporarily unavailable; please retry",
                              [{"field": "service", "message": "durable task hub unreachable"}])
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class RequestRejected(Exception):
    """A request the route refuses; carries the answer to send."""

    def __init__(self, response: func.HttpResponse) -> None:
        """Wrap the error ``response`` to answer with."""
        super().__init__(response.get_body().decode())
        self.response = response


def parse_body(req: func.HttpRequest, model: type[ModelT], max_bytes: int) -> ModelT:
    """Read the request body as ``model``, or raise ``RequestRejected`` saying why.

    Oversize bodies get 413 before any parsing, so a huge body costs nothing to refuse.
    """
    raw = req.get_body() or b""
    if len(raw) > max_bytes:
        raise RequestRejected(error_response(
            413, f"request body is larger than {max_bytes} bytes",
            [{"field": "body", "message": f"{len(raw)} bytes"}]))
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise RequestRejected(error_response(
            400, "request body is not valid JSON",
            [{"field": "body", "message": "expected a JSON object"}])) from None
    if not isinstance(document, dict):
        raise RequestRejected(error_response(
            400, "request body must be a JSON object",
            [{"field": "body", "message": f"got {type(document).__name__}"}]))
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise RequestRejected(error_response(
            400, "request body is invalid", details_from_validation(error))) from None


def order_id_from_route(req: func.HttpRequest) -> str:
    """The ``{orderId}`` route parameter, or ``RequestRejected`` (400) if it cannot be one.

    Checked before it reaches the durable client, so no odd id ever reaches a storage query.
    """
    order_id = req.route_params.get("orderId", "")
    if not _ORDER_ID.fullmatch(order_id):
        raise RequestRejected(error_response(
            400, "orderId is not a valid order id",
            [{"field": "orderId", "message": "expected 8-64 of A-Z a-z 0-9 _ -"}]))
    return order_id


def status_url(req: func.HttpRequest, order_id: str) -> str:
    """The absolute URL of the app's own status route for ``order_id``.

    Built from the request's own URL up to its ``orders`` segment, so it keeps whatever
    route prefix (and spelling: hosts match routes case-insensitively) the caller used.
    """
    base = req.url.split("?", 1)[0]
    match = _ORDERS_SEGMENT.search(base)
    root = base[: match.start()] if match else base.rstrip("/")
    return f"{root}/orders/{order_id}"
