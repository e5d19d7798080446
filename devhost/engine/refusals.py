"""What Azure's host refuses in an orchestrator's answer, and the reason it gives.

The Durable extension's shim applies the SDK's answer outside user code: it sets the custom
status, then schedules each action in order, and the first one it refuses fails the whole
orchestration with ``"Orchestrator function '{name}' failed: {reason}"`` (the user's
try/except never sees it; ``OutOfProcOrchestrationShim.ScheduleDurableTaskEvents``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from devhost.engine.actions import Schedulable
from devhost.taskhub.base import InstanceRecord

__all__ = ["MAX_CUSTOM_STATUS_KB", "missing_function", "refuse_action", "refuse_custom_status"]

# Azure stores a custom status as UTF-16 text and refuses one over this many whole KB
# (DurableOrchestrationContext.SetCustomStatus, MessagePayloadDataConverter.Serialize).
MAX_CUSTOM_STATUS_KB = 16


def refuse_custom_status(custom: Any) -> str | None:
    """Why Azure refuses ``custom`` as a custom status (too big), or None."""
    if custom is None:
        return None
    text = json.dumps(custom, separators=(",", ":"), ensure_ascii=False)
    size_kb = len(text.encode("utf-16-le")) // 1024
    if size_kb <= MAX_CUSTOM_STATUS_KB:
        return None
    return ("The UTF-16 size of the JSON-serialized payload must not exceed "
            f"{MAX_CUSTOM_STATUS_KB:,} KB. The current payload size is {size_kb:,} KB.")


def refuse_action(action: Schedulable, record: InstanceRecord, activities: Collection[str],
                  orchestrators: Collection[str]) -> str | None:
    """Why Azure's host refuses ``action`` of ``record``'s orchestration, or None.

    DurableOrchestrationContext.CallDurableTaskFunctionAsync: the function must exist; a
    sub-orchestration's id must differ from its own and its parent's, ignoring case, and
    not start with @ (an entity's).
    """
    if action.is_activity and action.name not in activities:
        return missing_function(action.name, "activity", activities)
    if not action.is_sub_orchestration:
        return None
    if action.name not in orchestrators:
        return missing_function(action.name, "orchestrator", orchestrators)
    child = (action.instance_id or "").lower()
    parent = record.parent.instance_id.lower() if record.parent else None
    if child and child in (record.instance_id.lower(), parent):
        return ("The instance ID of a sub-orchestration must be different than the "
                "instance ID of a parent orchestration.")
    if child.startswith("@"):
        # ArgumentException(nameof(instanceId), text): .NET puts the text in the parameter
        # slot, so the message reads this way on Azure.
        return "instanceId (Parameter 'Orchestration instance ids must not start with @')"
    return None


def missing_function(name: str | None, kind: str, known: Collection[str]) -> str:
    """Azure's message for a call to a function the app does not have
    (DurableTaskExtension.GetInvalidActivityFunctionMessage and its orchestrator twin)."""
    text = (f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
            "Additional info: ")
    if known:
        listed = "', '".join(known)
        return text + f"The following are the known {kind} functions: '{listed}'."
    return text + f"No {kind} functions are currently registered!"
