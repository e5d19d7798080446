"""The task hub: where instances, their history and their pending work are kept.

One narrow interface, two implementations: Azure Storage tables and queues (Azurite locally,
a real account unchanged) and an in-memory one on a virtual clock for fast tests. Both pass
the same contract tests (tests/contract).

Delivery is at least once. A fetched work item is leased; completing it writes its history
with an optimistic-concurrency check (``LockLost`` when someone else wrote first) and only
then removes the messages it consumed, so a crash at any instant loses nothing and the
engine drops what it sees again (every history event it records from a message carries
that message's id in ``MessageId``).
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from devhost.clock import Clock
from devhost.engine.protocol import HistoryEvent


class RuntimeStatus(str, Enum):
    """An instance's runtime status, spelt as the management API answers it."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    SUSPENDED = "Suspended"

    @property
    def has_ended(self) -> bool:
        """True for Completed, Failed and Terminated."""
        return self in ENDED_STATUSES


ENDED_STATUSES = frozenset({RuntimeStatus.COMPLETED, RuntimeStatus.FAILED,
                            RuntimeStatus.TERMINATED})


def new_message_id() -> str:
    """A unique id for a message, recorded in history to recognise re-deliveries."""
    return uuid.uuid4().hex


@dataclass
class ParentRef:
    """Where a sub-orchestration reports back to: its parent and the parent's task id."""

    instance_id: str
    task_id: int
    execution_id: str | None = None


@dataclass
class InstanceRecord:
    """The instance's row: what the status API reports. JSON values are kept as JSON text."""

    instance_id: str
    name: str
    runtime_status: RuntimeStatus
    created_at: datetime
    updated_at: datetime
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    parent: ParentRef | None = None
    execution_id: str = field(default_factory=new_message_id)
    # The orchestration version the instance was created with ("" for none).
    version: str = ""
    # Whether Azure keeps the input as a JSON string holding its text (the SDK's start_new
    # posts it so) rather than as the JSON value itself (a plain JSON body): the status
    # shows it so.
    input_as_text: bool = True


@dataclass
class Message:
    """Work for an orchestration instance: a history event to add, visible from a moment on.

    ``event`` is a protocol history event (devhost.engine.protocol) without its final EventId;
    timers are messages whose ``visible_at`` is the fire time.
    """

    instance_id: str
    event: HistoryEvent
    visible_at: datetime | None = None
    message_id: str = field(default_factory=new_message_id)


@dataclass
class ActivityTask:
    """An activity to run for an instance; its result goes back as a Message."""

    instance_id: str
    task_id: int
    name: str
    input: str | None
    message_id: str = field(default_factory=new_message_id)
    # The execution that scheduled it: its result must not reach a later execution
    # (after continue-as-new or a re-created instance) that reused the task id.
    execution_id: str | None = None


@dataclass
class OrchestrationWorkItem:
    """A leased instance with the messages to apply, its record and its history so far.

    ``lease`` belongs to the hub that handed the item out; only that hub reads it.
    """

    instance_id: str
    messages: list[Message]
    record: InstanceRecord | None
    history: list[HistoryEvent]
    lease: object = None


@dataclass
class Commit:
    """Everything one orchestration work item changes, saved by the hub as one step.

    ``record`` None means: write nothing, only drop the item's messages (all stale, or for
    an unknown or ended instance). ``replace_history`` (continue-as-new, a child started
    again) swaps the whole history for ``new_history`` instead of appending it.
    """

    record: InstanceRecord | None
    new_history: list[HistoryEvent] = field(default_factory=list)
    outbound: list[Message] = field(default_factory=list)
    activities: list[ActivityTask] = field(default_factory=list)
    replace_history: bool = False


@dataclass(frozen=True)
class InstanceQuery:
    """Which instances to list: every filter given must match (None matches all)."""

    statuses: frozenset[RuntimeStatus] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def matches(self, record: InstanceRecord) -> bool:
        """Whether ``record`` passes every filter."""
        return ((self.statuses is None or record.runtime_status in self.statuses)
                and (self.created_from is None or record.created_at >= self.created_from)
                and (self.created_to is None or record.created_at <= self.created_to))


ALL_INSTANCES = InstanceQuery()


@dataclass
class ActivityWorkItem:
    """A leased activity task; ``lease`` belongs to the hub that handed it out."""

    task: ActivityTask
    lease: object = None
    dequeue_count: int = 1


class TaskHub(abc.ABC):
    """Storage for a task hub. Every method may raise ``StorageUnavailable``."""

    clock: Clock

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Create tables/queues if needed and start background receivers."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and stop background work."""

    @abc.abstractmethod
    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        """Create ``record`` and queue its ExecutionStarted message.

        Raises ``InstanceExists`` when an instance with that id has not ended; an ended
        one is replaced, its old history removed. Not atomic on Azure Storage: the record
        is written first, and removed again if the start message cannot be sent. A host
        killed in between (or a failed removal) leaves a Pending record with no start
        message; ``DurableRuntime.start`` sends the start of every Pending instance again.
        """

    @abc.abstractmethod
    async def send(self, messages: list[Message]) -> None:
        """Queue messages for their instances, each visible from its ``visible_at``."""

    @abc.abstractmethod
    async def fetch_orchestration_work(self, wait_seconds: float) -> OrchestrationWorkItem | None:
        """Lease one instance that has visible messages, or None after ``wait_seconds``.

        An instance is leased to one caller at a time; messages that arrive meanwhile are
        handed out with the next fetch.
        """

    @abc.abstractmethod
    async def complete_orchestration_work(self, item: OrchestrationWorkItem,
                                          commit: Commit) -> None:
        """Save ``commit``: send its outbound messages and activities, append its history
        (or replace the whole history), save its record, then delete the item's messages
        and release the lease. A commit without a record only deletes the messages.

        Raises ``LockLost`` when the instance was changed by another writer since the fetch.
        Outbound work may already have been sent then (the Azure hub sends before it
        commits, so a crash never loses it): the engine drops such duplicates on arrival.
        """

    @abc.abstractmethod
    async def abandon_orchestration_work(self, item: OrchestrationWorkItem,
                                         retry_after_seconds: float = 0) -> None:
        """Release the lease without committing; the messages come back later."""

    @abc.abstractmethod
    async def fetch_activity_work(self, wait_seconds: float) -> ActivityWorkItem | None:
        """Lease one visible activity task, or None after ``wait_seconds``."""

    @abc.abstractmethod
    async def complete_activity_work(self, item: ActivityWorkItem, result: Message) -> None:
        """Send the activity's result message, then delete the task."""

    @abc.abstractmethod
    async def abandon_activity_work(self, item: ActivityWorkItem,
                                    retry_after_seconds: float = 0) -> None:
        """Release the task so it runs again later (the host could not finish it)."""

    # How often a running activity's lease must be renewed; None: leases never run out.
    activity_renewal_seconds: float | None = None

    async def renew_activity_work(self, item: ActivityWorkItem) -> bool:
        """Keep a running activity's task leased; False when the lease was already lost.

        Without it, an activity that runs longer than the lease is handed out again and
        runs twice. The default suits hubs whose leases never run out.
        """
        return True

    @abc.abstractmethod
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record, or None."""

    @abc.abstractmethod
    async def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """The instance's history in order (empty for an unknown instance)."""

    @abc.abstractmethod
    async def query_instances(self, query: InstanceQuery = ALL_INSTANCES
                              ) -> list[InstanceRecord]:
        """Records matching ``query``, oldest first."""

    @abc.abstractmethod
    async def purge_instance(self, instance_id: str) -> bool:
        """Delete the instance's record and history; False when there was none."""
