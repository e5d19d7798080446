"""The shared pydantic configuration of every contract that crosses a boundary."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Contract(BaseModel):
    """A JSON contract: camelCase on the wire, snake_case in Python, unknown fields refused.

    Refusing unknown fields makes a misspelt field (``regid``) a clear 400 instead of a
    silently ignored value.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    def to_json_dict(self) -> dict:
        """Return the wire form: camelCase keys, JSON-safe values, unset optionals left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class WireRequest(Contract):
    """A request body: camelCase only, so ``reg_id`` on the wire is an unknown field.

    Internal contracts accept Python names too (code builds them); request bodies come only
    from the wire, where the documented spelling is the only one.
    """

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True)
