"""The entity scheduler: one leased entity work item -> one commit, through the SDK.

The requests in the item's ``op`` events run in arrival order as one batch through the
app's entity function (the SDK's ``Entity.create`` handle reads the batch JSON the
extension's ``EntityTriggerAttributeBindingProvider.EntityContextToString`` writes, and
answers with the state and one result per operation). Calls get their answers back as
response messages; the new state and the applied request ids go into the entity's record
in the same commit, so a crash before the commit runs the batch again and one after it
never applies a request twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.entities.ids import EntityId, InvalidEntityId, find_entity, missing_entity
from devhost.entities.messages import EntityRequest, request_from_event, response_message
from devhost.entities.sorter import in_sender_order
from devhost.entities.state import SchedulerState
from devhost.taskhub.base import Commit, OrchestrationWorkItem

__all__ = ["MAX_OPERATION_BATCH", "EntityBatch", "EntityHandles"]

log = logging.getLogger(__name__)

# At most this many operations per call of the entity function: the extension's
# maxEntityOperationBatchSize default outside the Consumption plan
# (AzureStorageDurabilityProviderFactory), this host being one dedicated machine.
MAX_OPERATION_BATCH = 5000

# The app's entity functions by name: the SDK's ``handle(context_json) -> result_json``.
EntityHandles = Mapping[str, Callable[[str], str]]


@dataclass(frozen=True)
class _Outcome:
    """One operation's result as the SDK serialized it (JSON text) and whether it raised."""

    result: str | None
    is_error: bool


class EntityBatch:
    """Runs the operations of one entity work item and gathers their commit."""

    def __init__(self, item: OrchestrationWorkItem, entities: EntityHandles, now: datetime,
                 has_orchestrators: bool = True) -> None:
        """Prepare to apply ``item``'s requests at ``now`` with the app's ``entities``;
        ``has_orchestrators`` only shapes Azure's message for an unknown entity."""
        self.item = item
        self.entities = entities
        self.now = now
        self.has_orchestrators = has_orchestrators

    def run(self) -> Commit:
        """The commit: the new record and the answers to calls (only message deletions
        when nothing in the item is a new request)."""
        try:
            entity = EntityId.parse(self.item.instance_id)
        except InvalidEntityId:
            log.warning("messages for %r, which is no entity id, are dropped",
                        self.item.instance_id)
            return Commit(record=None)
        state = SchedulerState.of(self.item.record)
        held_before = len(state.held)
        requests = self._new_requests(state)
        if not requests:
            if len(state.held) == held_before:
                return Commit(record=None)
            # Requests were held back: the record keeps them, the messages go.
            return Commit(record=state.record_for(entity, self.item.record, self.now))
        commit = Commit(record=None)
        for start in range(0, len(requests), MAX_OPERATION_BATCH):
            chunk = requests[start:start + MAX_OPERATION_BATCH]
            for request, outcome in zip(chunk, self._execute(entity, state, chunk), strict=True):
                if not request.is_signal and request.parent is not None:
                    commit.outbound.append(response_message(request, outcome.result,
                                                            outcome.is_error, self.now))
            state.remember([request.request_id for request in chunk])
        commit.record = state.record_for(entity, self.item.record, self.now)
        return commit

    def _new_requests(self, state: SchedulerState) -> list[EntityRequest]:
        """The requests to apply now: the item's in arrival order, without those applied
        already or repeated, each orchestration's in the order it sent them (held ones
        released once their predecessors came; see ``sorter``)."""
        seen = set(state.applied) | {held.request.request_id for held in state.held}
        requests: list[EntityRequest] = []
        for message in self.item.messages:
            request = request_from_event(message.event)
            if request is None:
                log.info("entity %s: a %s message that is no operation request is dropped",
                         self.item.instance_id, message.event.get("Name") or "non-event")
                continue
            if request.request_id in seen:
                continue  # delivered again after a crash: it was applied already
            seen.add(request.request_id)
            requests.append(request)
        ready, state.held = in_sender_order(requests, state.senders, state.held, self.now)
        return ready

    def _execute(self, entity: EntityId, state: SchedulerState,
                 requests: list[EntityRequest]) -> list[_Outcome]:
        """Run ``requests`` through the entity function, updating ``state`` with its answer.

        When the function cannot run at all (unknown entity, the SDK failing outside an
        operation), every operation fails with the reason and the state stays as it was.
        """
        name = find_entity(entity.name, self.entities)
        if name is None:
            reason = missing_entity(entity.name, list(self.entities), self.has_orchestrators)
            return [_Outcome(json.dumps(reason), True)] * len(requests)
        context = json.dumps({
            "self": entity.as_json(),
            "exists": state.exists,
            "state": state.state,
            "batch": [{"name": r.operation, "input": r.input, "isSignal": r.is_signal}
                      for r in requests],
        })
        try:
            answer: Any = json.loads(self.entities[name](context))
            results = answer["results"]
            if not isinstance(results, list) or len(results) != len(requests):
                raise ValueError("the entity function answered with the wrong number of "
                                 "results")
        except Exception as failed:
            log.exception("entity %s: its function failed outside any operation",
                          entity.instance_id)
            reason = f"{type(failed).__name__}: {failed}"
            return [_Outcome(json.dumps(reason), True)] * len(requests)
        state.exists = bool(answer.get("entityExists"))
        entity_state = answer.get("entityState")
        state.state = entity_state if state.exists and isinstance(entity_state, str) else None
        return [_Outcome(item.get("result"), bool(item.get("isError"))) for item in results]
