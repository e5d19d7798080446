"""The one error shape every route answers with."""

from pydantic import BaseModel, ConfigDict, ValidationError


class ErrorDetail(BaseModel):
    """One thing at fault: the field (or parameter) and what is wrong with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    message: str


class ErrorBody(BaseModel):
    """``{"error": ..., "details": [...]}``: a sentence, then the fields at fault."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error: str
    details: list[ErrorDetail] = []


def details_from_validation(error: ValidationError) -> list[dict]:
    """Turn a pydantic error into ``[{"field", "message"}]`` entries naming each bad field.

    The offending input value is left out on purpose: echoing it could leak a token or
    reflect a huge string back to the caller.
    """
    details = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": field, "message": item["msg"]})
    return details
