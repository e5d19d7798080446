"""The instance actions, through the durable client: what each one needs and says.

An action either succeeds with a notice or fails with a message and changes nothing: the
client refuses before it writes (unknown instance, ended instance, a live id taken), and the
event data is checked as JSON before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from devhost.engine.client import DurableClient
from devhost.errors import (
    InstanceEnded,
    InstanceExists,
    InstanceNotFound,
    StorageUnavailable,
)

__all__ = ["ACTIONS", "NOTICES", "ActionFailed", "ActionResult", "run_action"]

MAX_REASON = 1000
MAX_EVENT_NAME = 200


class ActionFailed(Exception):
    """An action refused; the message says why, and nothing changed."""


@dataclass(frozen=True)
class ActionResult:
    """What an action did: the notice to show, and the instance to show it on (None after a
    purge: the list)."""

    notice: str
    instance_id: str | None


Action = Callable[[DurableClient, str, Mapping[str, str]], Awaitable[ActionResult]]


def _reason(form: Mapping[str, str]) -> str | None:
    """The optional reason, bounded."""
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        raise ActionFailed(f"the reason is over {MAX_REASON} characters")
    return reason or None


async def _raise_event(client: DurableClient, instance_id: str,
                       form: Mapping[str, str]) -> ActionResult:
    name = form.get("name", "").strip()
    if not name or len(name) > MAX_EVENT_NAME:
        raise ActionFailed(f"the event needs a name of 1 to {MAX_EVENT_NAME} characters")
    data = form.get("data", "").strip() or "null"
    try:
        json.loads(data)
    except ValueError as err:
        raise ActionFailed(f"the event data is not JSON: {err}") from err
    await client.raise_event(instance_id, name, data)
    return ActionResult(f"Event {name!r} raised.", instance_id)


def _with_reason(operation: Callable[[DurableClient], Callable[[str, str | None],
                                                                Awaitable[None]]],
                 notice: str) -> Action:
    """An action that calls one client operation with the form's reason."""
    async def act(client: DurableClient, instance_id: str,
                  form: Mapping[str, str]) -> ActionResult:
        await operation(client)(instance_id, _reason(form))
        return ActionResult(notice, instance_id)
    return act


async def _restart(client: DurableClient, instance_id: str,
                   form: Mapping[str, str]) -> ActionResult:
    new_id = await client.restart(instance_id, new_instance_id=form.get("new_id") == "1")
    return ActionResult(f"Restarted as {new_id}.", new_id)


async def _purge(client: DurableClient, instance_id: str,
                 form: Mapping[str, str]) -> ActionResult:
    await client.purge(instance_id)
    return ActionResult(f"Purged {instance_id}.", None)


# What the instance page says after each action (the page is reached by a redirect).
NOTICES = {
    "raise-event": "Event raised.",
    "terminate": "Termination requested.",
    "suspend": "Suspension requested.",
    "resume": "Resumption requested.",
    "restart": "Restarted: this is the instance it runs as now.",
}

ACTIONS: dict[str, Action] = {
    "raise-event": _raise_event,
    "terminate": _with_reason(lambda client: client.terminate, NOTICES["terminate"]),
    "suspend": _with_reason(lambda client: client.suspend, NOTICES["suspend"]),
    "resume": _with_reason(lambda client: client.resume, NOTICES["resume"]),
    "restart": _restart,
    "purge": _purge,
}


async def run_action(client: DurableClient, action: str, instance_id: str,
                     form: Mapping[str, str]) -> ActionResult:
    """Take ``action`` on the instance; ``ActionFailed`` says why it was refused."""
    try:
        return await ACTIONS[action](client, instance_id, form)
    except InstanceNotFound as err:
        raise ActionFailed(f"there is no instance {instance_id!r}") from err
    except InstanceEnded as err:
        raise ActionFailed(f"{instance_id} has ended: it takes no {action.replace('-', ' ')}"
                           ) from err
    except InstanceExists as err:
        raise ActionFailed(f"a live instance already has the id {instance_id!r}") from err
    except StorageUnavailable as err:
        raise ActionFailed(f"storage cannot be reached ({err}); nothing changed") from err
