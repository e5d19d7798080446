"""Reading management requests: query flags, times, statuses, paging, ids and JSON bodies.

Each reader refuses what the Functions host refuses, with a ``ValueError`` the API turns
into a 400, so nothing malformed reaches the durable client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from devhost.taskhub.base import RuntimeStatus

__all__ = [
    "JsonTooDeep",
    "check_instance_id",
    "count",
    "flag",
    "moment",
    "parse_json",
    "start_input",
    "statuses",
]

# Azure Storage refuses these in keys; the Functions host refuses them in instance ids.
_BAD_ID_CHARS = frozenset("/\\#?")
MAX_INSTANCE_ID_LENGTH = 100
# Json.NET's default MaxDepth, which the Functions host reads management bodies with.
MAX_JSON_DEPTH = 64
# Paging numbers: plain ASCII digits, few enough for any page size or offset.
_COUNT = re.compile(r"[0-9]{1,9}")


def flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean query parameter read like .NET's ``bool.TryParse`` (else ``default``)."""
    value = query.get(name, "").strip().lower()
    return {"true": True, "false": False}.get(value, default)


def moment(query: Mapping[str, str], name: str) -> datetime | None:
    """An ISO-8601 query parameter (UTC when it has no offset); ValueError if malformed."""
    text = query.get(name)
    if not text:
        return None
    text = text.strip()
    try:
        # The SDK writes a trailing "Z", which fromisoformat reads only from Python 3.11.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def statuses(query: Mapping[str, str]) -> frozenset[RuntimeStatus] | None:
    """``runtimeStatus=Running,Pending`` (case-insensitive; unknown names ignored)."""
    wanted = {part.strip().lower() for part in query.get("runtimeStatus", "").split(",")}
    found = frozenset(status for status in RuntimeStatus if status.value.lower() in wanted)
    return found or None


def start_input(body: bytes) -> str | None:
    """The orchestration input as JSON text, from a start request's body.

    The SDK serializes the input to JSON text and then posts that text as a JSON string
    (aiohttp ``json=``), so the body is JSON *of* JSON text. The Functions host stores the
    body and hands the orchestrator the decoded string, so the SDK's ``get_input`` sees the
    original value; we unwrap the string here to the same effect. A body that is a plain
    JSON value (curl, Postman) is the input as is. ValueError when the body is not JSON.
    """
    text = body.decode("utf-8").strip()
    if not text:
        return None
    value = parse_json(text)
    if isinstance(value, str):
        try:
            parse_json(value)
        except JsonTooDeep:
            raise
        except ValueError:
            return text
        return value
    return text


class JsonTooDeep(ValueError):
    """A management request body nested deeper than ``MAX_JSON_DEPTH``."""


def parse_json(text: str) -> Any:
    """``json.loads``, refusing (``JsonTooDeep``) JSON nested deeper than ``MAX_JSON_DEPTH``.

    The Functions host reads these bodies with Json.NET, whose default ``MaxDepth`` (64)
    refuses deeper JSON; the same bound keeps every accepted body far from Python's
    recursion limit wherever it is parsed later (the SDK parses an event's data again on
    every replay).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep("JSON nested too deeply") from None
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        pending.extend((child, depth + 1) for child in children)
    return value


def count(text: str) -> int | None:
    """A paging number (``top``, the continuation token), or None when it is not one.

    Only ASCII digits, at most nine: never a digit ``int`` refuses ("²") nor a number too
    long to convert.
    """
    return int(text) if _COUNT.fullmatch(text) else None


def check_instance_id(instance_id: str) -> str | None:
    """Why an instance id cannot be used, or None."""
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        return f"instance ids are at most {MAX_INSTANCE_ID_LENGTH} characters"
    if any(c in _BAD_ID_CHARS or ord(c) < 32 or ord(c) == 127 for c in instance_id):
        return "instance ids cannot contain '/', '\\', '#', '?' or control characters"
    return None
