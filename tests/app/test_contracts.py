"""Edge cases of the pydantic contracts in ``models/`` (``models/push.py`` is tested apart)."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from models.approval import ApprovalDecision, ApprovalRequest
from models.base import Contract
from models.errors import ErrorBody, details_from_validation
from models.orchestration import (
    ApprovalOutcome,
    ApprovalState,
    BackendActionInput,
    BackendActionResult,
    OrderCustomStatus,
    OrderInput,
    PushRetryPolicy,
    TimelineEntry,
)
from models.orders import OrderAccepted, OrderItem, PlaceOrderRequest
from models.stages import TERMINAL_STAGES, Stage
from models.status import OrderStatusView

TOKEN = "device-token-abc"
SENT = {"outcome": "sent", "messageId": "projects/demo/messages/1"}


def item(name: str = "Margherita", quantity: object = 1) -> dict:
    """One order line on the wire."""
    return {"name": name, "quantity": quantity}


def place(**fields: object) -> dict:
    """A valid place-order body on the wire, with some fields replaced."""
    body: dict = {"regId": TOKEN, "items": [item()]}
    body.update(fields)
    return body


def refused_fields(model: type[Contract], data: object) -> list[str]:
    """Validate ``data`` expecting a refusal; return the fields the details name."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [detail["field"] for detail in details_from_validation(caught.value)]


# -- PlaceOrderRequest and OrderItem -------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 50])
def test_order_of_1_and_50_items_is_valid(count):
    """The item count bounds themselves are accepted."""
    request = PlaceOrderRequest.model_validate(place(items=[item()] * count))
    assert len(request.items) == count


@pytest.mark.parametrize("count", [0, 51])
def test_order_of_0_or_51_items_is_refused(count):
    """One below and one above the item count bounds name items."""
    assert refused_fields(PlaceOrderRequest, place(items=[item()] * count)) == ["items"]


@pytest.mark.parametrize("quantity", [1, 99])
def test_quantity_1_and_99_are_valid(quantity):
    """The quantity bounds themselves are accepted."""
    assert OrderItem.model_validate(item(quantity=quantity)).quantity == quantity


@pytest.mark.parametrize("quantity", [0, 100, -1, "2", True, 2.0, None])
def test_quantity_out_of_range_or_not_an_int_is_refused(quantity):
    """Quantity is a strict int in 1..99: no strings, bools, floats or nulls."""
    assert refused_fields(OrderItem, item(quantity=quantity)) == ["quantity"]


def test_item_name_of_100_characters_is_valid():
    """A name at the 100-character limit is accepted."""
    assert OrderItem.model_validate(item(name="n" * 100)).name == "n" * 100


@pytest.mark.parametrize("name", ["", "   ", "n" * 101, 7])
def test_item_name_empty_blank_too_long_or_not_text_is_refused(name):
    """A name must be 1..100 characters of text after trimming."""
    assert refused_fields(OrderItem, item(name=name)) == ["name"]


def test_item_name_is_trimmed_before_its_length_is_checked():
    """Surrounding whitespace is dropped, so 100 characters plus spaces still fit."""
    assert OrderItem.model_validate(item(name=f"  {'n' * 100}  ")).name == "n" * 100


@pytest.mark.parametrize("order_id", ["a" * 8, "Z" * 64, "order_01", "ORD-2025-01-01_xyz"])
def test_order_ids_of_8_to_64_allowed_characters_are_valid(order_id):
    """Order ids of 8 and 64 characters of A-Z a-z 0-9 _ - are accepted."""
    assert PlaceOrderRequest.model_validate(place(orderId=order_id)).order_id == order_id


@pytest.mark.parametrize("order_id", ["a" * 7, "a" * 65, "order/001", "order 001", "order.001",
                                      "ordér-001", "order-001\n", "", 12345678])
def test_order_ids_outside_the_pattern_are_refused(order_id):
    """Too short, too long, other characters, a trailing newline, or not text: refused."""
    assert refused_fields(PlaceOrderRequest, place(orderId=order_id)) == ["orderId"]


def test_order_id_is_optional():
    """Without orderId the request is valid and leaves the id to the server."""
    assert PlaceOrderRequest.model_validate(place()).order_id is None


def test_registration_token_is_trimmed_and_bounded():
    """The token is trimmed; 4096 characters fit, 4097 and blank do not."""
    assert PlaceOrderRequest.model_validate(place(regId=f" {TOKEN} ")).reg_id == TOKEN
    assert PlaceOrderRequest.model_validate(place(regId="t" * 4096)).reg_id == "t" * 4096
    assert refused_fields(PlaceOrderRequest, place(regId="t" * 4097)) == ["regId"]
    assert refused_fields(PlaceOrderRequest, place(regId=" \t ")) == ["regId"]


def test_place_order_reads_camel_case_keys():
    """The wire's camelCase keys fill the snake_case fields."""
    request = PlaceOrderRequest.model_validate(
        {"regId": TOKEN, "items": [item()], "orderId": "order-0001"})
    assert (request.reg_id, request.order_id) == (TOKEN, "order-0001")


def test_place_order_refuses_snake_case_keys_on_the_wire():
    """The wire form is camelCase only: a snake_case key is an unknown field."""
    assert refused_fields(PlaceOrderRequest, {"reg_id": TOKEN, "items": [item()]}) != []


@pytest.mark.parametrize(("data", "field"), [
    (place(coupon="FREE"), "coupon"),
    (place(regid=TOKEN), "regid"),
    (place(items=[{**item(), "price": 9}]), "items.0.price"),
])
def test_unknown_fields_are_refused_by_name(data, field):
    """A field the contract does not know is refused and named, at any depth."""
    assert field in refused_fields(PlaceOrderRequest, data)


def test_contracts_are_frozen():
    """A validated contract cannot be changed afterwards."""
    request = PlaceOrderRequest.model_validate(place())
    with pytest.raises(ValidationError):
        request.reg_id = "another-token"


def test_order_accepted_is_camel_case_on_the_wire():
    """The answer to a placed order serialises as orderId, stage, statusUrl."""
    accepted = OrderAccepted(order_id="order-0001", stage=Stage.RECEIVED,
                             status_url="http://h/api/orders/order-0001")
    assert accepted.to_json_dict() == {"orderId": "order-0001", "stage": "received",
                                       "statusUrl": "http://h/api/orders/order-0001"}


# -- Approval --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [ApprovalRequest, ApprovalDecision])
def test_approval_note_of_500_characters_is_valid(model):
    """A note at the 500-character limit is accepted."""
    assert model.model_validate({"approved": True, "note": "n" * 500}).note == "n" * 500


@pytest.mark.parametrize("model", [ApprovalRequest, ApprovalDecision])
@pytest.mark.parametrize(("data", "field"), [
    ({"approved": True, "note": "n" * 501}, "note"),
    ({"approved": "true"}, "approved"),
    ({"approved": 1}, "approved"),
    ({"approved": None}, "approved"),
    ({}, "approved"),
    ({"approved": True, "by": "staff"}, "by"),
])
def test_approval_refuses_long_notes_non_bools_and_unknown_fields(model, data, field):
    """approved is a strict bool; the note at most 500 characters; no other fields."""
    assert field in refused_fields(model, data)


def test_approval_decision_reads_the_double_encoded_event_text():
    """The event payload arrives as JSON text and validates to the same decision."""
    text = json.dumps({"approved": False, "note": "no olives"})
    decision = ApprovalDecision.model_validate_json(text)
    assert (decision.approved, decision.note) == (False, "no olives")


def test_approval_decision_without_note_leaves_it_out_of_the_wire():
    """An unset note is omitted from the wire form rather than sent as null."""
    assert ApprovalDecision(approved=True).to_json_dict() == {"approved": True}


# -- Orchestration contracts -----------------------------------------------------------------------


def order_input(**fields: object) -> dict:
    """A valid orchestration input on the wire, with some fields replaced."""
    data: dict = {"orderId": "order-0001", "regId": TOKEN, "items": [item()],
                  "approvalTimeoutSeconds": 1800,
                  "pushRetry": {"maxAttempts": 4, "firstRetryMilliseconds": 5000}}
    data.update(fields)
    return data


def test_order_input_round_trips_through_its_wire_form():
    """What the starter sends is exactly what the orchestrator reads back."""
    wire = order_input()
    assert OrderInput.model_validate(wire).to_json_dict() == wire


@pytest.mark.parametrize(("fields", "field"), [
    ({"approvalTimeoutSeconds": 0}, "approvalTimeoutSeconds"),
    ({"pushRetry": {"maxAttempts": 0, "firstRetryMilliseconds": 1}}, "pushRetry.maxAttempts"),
    ({"pushRetry": {"maxAttempts": 21, "firstRetryMilliseconds": 1}}, "pushRetry.maxAttempts"),
    ({"pushRetry": {"maxAttempts": 1, "firstRetryMilliseconds": 0}},
     "pushRetry.firstRetryMilliseconds"),
    ({"items": [item(quantity=0)]}, "items.0.quantity"),
])
def test_order_input_refuses_out_of_range_settings(fields, field):
    """Settings outside their ranges never make it into an orchestration input."""
    assert field in refused_fields(OrderInput, order_input(**fields))


@pytest.mark.parametrize(("attempts", "first_ms"), [(1, 1), (20, 3_600_000)])
def test_push_retry_policy_bounds_are_valid(attempts, first_ms):
    """1 and 20 attempts, and a first retry of 1 ms, are accepted."""
    policy = PushRetryPolicy(max_attempts=attempts, first_retry_milliseconds=first_ms)
    assert policy.to_json_dict() == {"maxAttempts": attempts, "firstRetryMilliseconds": first_ms}


def test_backend_action_input_needs_a_positive_seq_and_a_known_stage():
    """seq starts at 1 and the stage must be one of the customer's stages."""
    wire = {"orderId": "order-0001", "regId": TOKEN, "orderStatus": "processing", "seq": 1}
    assert BackendActionInput.model_validate(wire).order_status is Stage.PROCESSING
    assert refused_fields(BackendActionInput, {**wire, "seq": 0}) == ["seq"]
    assert refused_fields(BackendActionInput, {**wire, "orderStatus": "cooking"}) == [
        "orderStatus"]


def test_backend_action_result_keeps_the_push_outcome():
    """A BackendAction result round-trips with its delivery result in camelCase."""
    wire = {"orderId": "order-0001", "stage": "finished", "seq": 4, "push": SENT}
    assert BackendActionResult.model_validate(wire).to_json_dict() == wire


def test_custom_status_round_trips_with_utc_times():
    """The custom status the orchestrator publishes reads back unchanged, times in Z form."""
    wire = {
        "stage": "awaiting_approval",
        "timeline": [{"stage": "received", "at": "2025-01-01T12:00:00Z", "seq": 1,
                      "push": SENT}],
        "approval": {"requestedAt": "2025-01-01T12:03:00Z",
                     "expiresAt": "2025-01-01T12:33:00Z"},
    }
    status = OrderCustomStatus.model_validate(wire)
    assert status.approval is not None
    assert status.approval.expires_at == datetime(2025, 1, 1, 12, 33, tzinfo=UTC)
    assert status.to_json_dict() == wire


def test_custom_status_refuses_an_unknown_stage_or_outcome():
    """A stage or approval outcome outside the enums does not read as a journey."""
    entry = {"stage": "received", "at": "2025-01-01T12:00:00Z", "seq": 1, "push": SENT}
    assert refused_fields(OrderCustomStatus, {"stage": "lost", "timeline": []}) == ["stage"]
    assert refused_fields(OrderCustomStatus, {
        "stage": "awaiting_approval", "timeline": [entry],
        "approval": {"requestedAt": "2025-01-01T12:03:00Z",
                     "expiresAt": "2025-01-01T12:33:00Z", "outcome": "maybe"},
    }) == ["approval.outcome"]


def test_approval_outcomes_are_the_four_endings():
    """The wait for a decision ends approved, declined, expired or invalid."""
    assert {outcome.value for outcome in ApprovalOutcome} == {
        "approved", "declined", "expired", "invalid"}


def test_approval_state_leaves_unset_decision_fields_off_the_wire():
    """Before a decision the approval carries only when it was asked and until when."""
    state = ApprovalState(requested_at=datetime(2025, 1, 1, 12, tzinfo=UTC),
                          expires_at=datetime(2025, 1, 1, 13, tzinfo=UTC))
    assert state.to_json_dict() == {"requestedAt": "2025-01-01T12:00:00Z",
                                    "expiresAt": "2025-01-01T13:00:00Z"}


def test_order_status_view_omits_approval_and_result_until_set():
    """The status view's optional parts stay off the wire until they exist."""
    view = OrderStatusView(order_id="order-0001", stage=Stage.RECEIVED, items=[],
                           runtime_status="Pending", timeline=[])
    assert view.to_json_dict() == {"orderId": "order-0001", "stage": "received", "items": [],
                                   "runtimeStatus": "Pending", "timeline": []}


def test_timeline_entry_needs_its_push_result():
    """A timeline entry without the push that announced it is refused, naming push."""
    assert refused_fields(TimelineEntry, {"stage": "received", "at": "2025-01-01T12:00:00Z",
                                          "seq": 1}) == ["push"]


# -- Errors --------------------------------------------------------------------------------------


def test_error_details_name_nested_fields_with_dots():
    """Each error names its field as a dotted path through lists and objects."""
    with pytest.raises(ValidationError) as caught:
        PlaceOrderRequest.model_validate(place(items=[item(), item(quantity=0)], extra=1))
    details = details_from_validation(caught.value)
    assert sorted(d["field"] for d in details) == ["extra", "items.1.quantity"]
    assert all(isinstance(d["message"], str) and d["message"] for d in details)
    assert all(set(d) == {"field", "message"} for d in details)


def test_error_details_never_echo_the_input():
    """The offending value (a token, a huge string) is not repeated in the details."""
    secret = "secret-token-" + "s" * 5000
    with pytest.raises(ValidationError) as caught:
        PlaceOrderRequest.model_validate(place(regId=secret))
    assert "secret-token" not in json.dumps(details_from_validation(caught.value))


def test_error_for_a_body_that_is_not_an_object_names_the_body():
    """An error about the whole input, with no field path, is named "body"."""
    assert refused_fields(PlaceOrderRequest, ["not", "an", "object"]) == ["body"]


def test_error_body_defaults_to_no_details():
    """An error without details serialises with an empty details list."""
    assert ErrorBody(error="no such order").model_dump() == {"error": "no such order",
                                                            "details": []}


# -- Stages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "terminal"), [
    (Stage.RECEIVED, False), (Stage.PROCESSING, False), (Stage.AWAITING_APPROVAL, False),
    (Stage.FINISHED, True), (Stage.CANCELLED, True), (Stage.EXPIRED, True),
])
def test_only_finished_cancelled_and_expired_are_terminal(stage, terminal):
    """is_terminal is true exactly for the three stages an order ends in."""
    assert stage.is_terminal is terminal


def test_stage_values_are_what_the_app_and_pushes_carry():
    """The six stages, in flow order, with their wire values."""
    assert [stage.value for stage in Stage] == [
        "received", "processing", "awaiting_approval", "finished", "cancelled", "expired"]
    assert {stage for stage in Stage if stage.is_terminal} == TERMINAL_STAGES
