"""The one error shape every route answers with."""

from pydantic import BaseModel, ConfigDict, ValidationError


class ErrorBody(BaseModel):
    """``{"error": ..., "details": [...]}``: a sentence, then the fields at fault."""

    model_config = ConfigDict(frozen=True)

    error: str
    details: list[dict] = []


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
