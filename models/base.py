"""The shared pydantic configuration of every contract that crosses a boundary."""

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# Text from the wire carries no control characters (C0, DEL, C1): they are never part of a
# dish or a note a person typed, and a NUL or an escape sequence would travel on into
# storage, logs and the phone's UI.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LAYOUT_CHARACTERS = re.compile(r"[\t\n\r]")


# The same rules as JSON Schema patterns (ECMA-262), for the API document. A name's
# whitespace controls (tab, line breaks, NEL) are refused too unless at its ends, which are
# stripped: the pattern lets them through, so it never refuses what the route takes.
NO_CONTROL_PATTERN = r"^[^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*$"
NO_CONTROL_BUT_LAYOUT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def no_control_characters(value: str) -> str:
    """Refuse text holding a control character (a pydantic ``AfterValidator``)."""
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


def no_control_but_layout(value: str) -> str:
    """Refuse control characters other than tab and line breaks (for free-text notes)."""
    no_control_characters(_LAYOUT_CHARACTERS.sub(" ", value))
    return value


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
