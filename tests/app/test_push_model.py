"""The DeliveryResult contract."""

import pytest
from pydantic import ValidationError

from models.push import DeliveryOutcome, DeliveryResult


def test_outcome_values_are_the_wire_names() -> None:
    """Each outcome serialises to the exact string other components match on."""
    assert {o.value for o in DeliveryOutcome} == {
        "sent",
        "unregistered",
        "invalid_token",
        "config_error",
        "not_configured",
        "failed",
    }


def test_delivered_only_when_sent() -> None:
    """`delivered` is true for SENT and false for every other outcome."""
    for outcome in DeliveryOutcome:
        result = DeliveryResult(outcome=outcome)
        assert result.delivered is (outcome is DeliveryOutcome.SENT)


def test_unknown_field_is_refused() -> None:
    """A misspelt field fails validation instead of being dropped."""
    with pytest.raises(ValidationError):
        DeliveryResult.model_validate({"outcome": "sent", "messageID": "x"})


def test_unknown_outcome_is_refused() -> None:
    """An outcome outside the enum fails validation."""
    with pytest.raises(ValidationError):
        DeliveryResult.model_validate({"outcome": "delivered"})


@pytest.mark.parametrize("status", [0, 99, 600])
def test_status_code_must_be_an_http_status(status: int) -> None:
    """A status code outside 100-599 fails validation."""
    with pytest.raises(ValidationError):
        DeliveryResult(outcome=DeliveryOutcome.FAILED, status_code=status)


def test_result_is_frozen() -> None:
    """A result cannot be changed after it is made."""
    result = DeliveryResult(outcome=DeliveryOutcome.SENT, message_id="projects/p/messages/1")
    with pytest.raises(ValidationError):
        result.outcome = DeliveryOutcome.FAILED


def test_json_round_trip() -> None:
    """The wire form uses camelCase, drops unset fields and reads back equal."""
    result = DeliveryResult(
        outcome=DeliveryOutcome.UNREGISTERED, error="UNREGISTERED: gone", status_code=404
    )
    wire = result.to_json_dict()
    assert wire == {"outcome": "unregistered", "error": "UNREGISTERED: gone", "statusCode": 404}
    assert DeliveryResult.model_validate(wire) == result
