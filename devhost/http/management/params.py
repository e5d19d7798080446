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

from multidict import CIMultiDict, MultiMapping

from devhost.taskhub.base import RuntimeStatus

__all__ = [
    "JsonTooDeep",
    "count",
    "flag",
    "lenient_moment",
    "moment",
    "parse_json",
    "query_values",
    "start_input",
    "status_names",
    "statuses",
]

# Azure Storage refuses these in keys; the Functions host refuses them in instance ids.
# DurableClient.cs, MaxInstanceIdLength.
# OrchestrationRuntimeStatus as numbered in .NET: Enum.TryParse takes the number too.
_STATUS_NUMBERS = {"0": "Running", "1": "Completed", "2": "ContinuedAsNew", "3": "Failed",
                   "4": "Canceled", "5": "Terminated", "6": "Pending", "7": "Suspended"}
_STATUS_NAMES = frozenset(_STATUS_NUMBERS.values())
# Json.NET's default MaxDepth, which the Functions host reads management bodies with.
MAX_JSON_DEPTH = 64
# Paging numbers: plain ASCII digits, few enough for any page size or offset.
_COUNT = re.compile(r"[0-9]{1,9}")


def query_values(query: MultiMapping[str]) -> CIMultiDict[str]:
    """The query string as the extension reads it (``GetQueryNameValuePairs``): names
    case-insensitive, names and values trimmed."""
    return CIMultiDict((name.strip(), value.strip()) for name, value in query.items())


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


def lenient_moment(query: Mapping[str, str], name: str) -> datetime | None:
    """A time filter read like ``DateTime.TryParse``: None when missing or malformed (the
    extension then leaves that filter out rather than refusing the request)."""
    try:
        return moment(query, name)
    except ValueError:
        return None


def status_names(query: MultiMapping[str]) -> frozenset[str]:
    """The .NET status names in ``runtimeStatus=Running,Pending``, read like
    ``Enum.TryParse``: names match exactly (case-sensitive), a number is the .NET enum's
    value, other values are skipped; every ``runtimeStatus`` parameter counts."""
    names = set()
    for text in query.getall("runtimeStatus", []):
        for part in text.split(","):
            part = part.strip()
            name = _STATUS_NUMBERS.get(part.removeprefix("+"), part)
            if name in _STATUS_NAMES:
                names.add(name)
    return frozenset(names)


def statuses(query: MultiMapping[str]) -> frozenset[RuntimeStatus] | None:
    """The statuses ``runtimeStatus`` names (see :func:`status_names`): None when it names
    none (no filter), else a set, possibly empty (``Canceled`` is a status no instance
    here has)."""
    names = status_names(query)
    if not names:
        return None
    return frozenset(status for status in RuntimeStatus if status.value in names)


def start_input(body: bytes) -> tuple[str | None, bool]:
    """The orchestration input as JSON text from a start request's body, and whether Azure
    keeps it as a string of that text.

    The SDK serializes the input to JSON text and then posts that text as a JSON string
    (aiohttp ``json=``), so the body is JSON *of* JSON text. The Functions host stores the
    body (a string) and hands the orchestrator the decoded string, so the SDK's
    ``get_input`` sees the original value; we unwrap the string here to the same effect. A
    body that is a plain JSON value (curl, Postman) is the input as is, and Azure keeps it
    as that value. ValueError when the body is not JSON.
    """
    text = body.decode("utf-8").strip()
    if not text:
        return None, True
    value = parse_json(text)
    if isinstance(value, str):
        try:
            parse_json(value)
        except JsonTooDeep:
            raise
        except ValueError:
            return text, False
        return value, True
    return text, False


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


