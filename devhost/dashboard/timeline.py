"""An instance's history read for people: table rows, and spans of running and waiting.

A span is something the orchestration ran (an activity, a sub-orchestration, from its
scheduling to its result) or waited for (a timer, from its creation to its firing; an
external event, from the end of the episode before it arrived to its arrival). Episodes of
the orchestrator itself are spans of their own. Whatever has not finished yet ends at the
last event, marked open; once the execution ended, it is marked unfinished instead (a timer
the orchestrator cancelled, an activity a termination left behind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from devhost.engine.protocol import RETRY_FOR, EventType, HistoryEvent, parse_iso

__all__ = ["Lane", "Span", "Timeline", "build_timeline", "event_label", "event_summary"]

SUMMARY_CHARACTERS = 160


class Lane(str, Enum):
    """Where a span is drawn."""

    RAN = "ran"
    WAITED = "waited"
    EPISODE = "episode"


@dataclass
class Span:
    """One stretch of the timeline."""

    lane: Lane
    kind: str  # activity, sub-orchestration, timer, retry timer, event, episode
    label: str
    start: datetime
    end: datetime
    outcome: str = ""  # completed, failed, fired, arrived, unfinished; "" while open
    child_id: str = ""  # a sub-orchestration's instance id

    @property
    def is_open(self) -> bool:
        """Not finished by the last event of the history."""
        return not self.outcome


@dataclass
class Timeline:
    """The spans of one history, and the moments it starts and ends."""

    spans: list[Span]
    start: datetime | None
    end: datetime | None

    @property
    def seconds(self) -> float:
        """How long the history lasts (0 for an empty one)."""
        if self.start is None or self.end is None:
            return 0.0
        return (self.end - self.start).total_seconds()


def event_label(event: HistoryEvent) -> str:
    """The event type's name, as Durable Task spells it."""
    try:
        name = EventType(event["EventType"]).name
    except ValueError:
        return f"EventType {event['EventType']}"
    return "".join(part.capitalize() for part in name.split("_"))


def _short(text: str | None) -> str:
    """JSON text cut to one line of a table."""
    if text is None:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARACTERS else text[:SUMMARY_CHARACTERS - 1] + "…"


def event_summary(event: HistoryEvent) -> str:
    """What a row of the history table says about the event beyond its type and time."""
    parts = []
    for field in ("Name", "InstanceId", "TaskScheduledId", "TimerId", "FireAt", "Reason"):
        value = event.get(field)
        if value not in (None, ""):
            parts.append(f"{field}={value}")
    for field in ("Input", "Result", "Details"):
        value = event.get(field)
        if value not in (None, ""):
            parts.append(f"{field}={_short(str(value))}")
    return "  ".join(parts)


_EXECUTION_ENDS = frozenset({int(EventType.EXECUTION_COMPLETED), int(EventType.EXECUTION_FAILED),
                             int(EventType.EXECUTION_TERMINATED)})
_RAN_OPEN = {int(EventType.TASK_SCHEDULED): "activity",
             int(EventType.SUB_ORCHESTRATION_CREATED): "sub-orchestration"}
_RAN_CLOSE = {int(EventType.TASK_COMPLETED): "completed", int(EventType.TASK_FAILED): "failed",
              int(EventType.SUB_ORCHESTRATION_COMPLETED): "completed",
              int(EventType.SUB_ORCHESTRATION_FAILED): "failed"}


def build_timeline(events: list[HistoryEvent]) -> Timeline:
    """The spans of ``events`` (a history, oldest first)."""
    spans: list[Span] = []
    open_tasks: dict[int, Span] = {}
    open_timers: dict[int, Span] = {}
    episode: Span | None = None
    idle_since: datetime | None = None
    first: datetime | None = None
    last: datetime | None = None
    ended = False
    for event in events:
        at = parse_iso(event["Timestamp"])
        first = at if first is None else min(first, at)
        last = at if last is None else max(last, at)
        kind = event["EventType"]
        ended = ended or kind in _EXECUTION_ENDS
        if kind == EventType.ORCHESTRATOR_STARTED:
            episode = Span(Lane.EPISODE, "episode", "episode", at, at)
            spans.append(episode)
        elif kind == EventType.ORCHESTRATOR_COMPLETED:
            if episode is not None:
                episode.end, episode.outcome = at, "completed"
                episode = None
            idle_since = at
        elif kind in _RAN_OPEN:
            span = Span(Lane.RAN, _RAN_OPEN[kind], str(event.get("Name", "")), at, at,
                        child_id=str(event.get("InstanceId", "")))
            open_tasks[event["EventId"]] = span
            spans.append(span)
        elif kind in _RAN_CLOSE:
            task = open_tasks.pop(event.get("TaskScheduledId", -1), None)
            if task is not None:
                task.end, task.outcome = at, _RAN_CLOSE[kind]
        elif kind == EventType.TIMER_CREATED:
            retry = RETRY_FOR in event
            span = Span(Lane.WAITED, "retry timer" if retry else "timer",
                        f"until {event.get('FireAt', '')}", at, at)
            open_timers[event["EventId"]] = span
            spans.append(span)
        elif kind == EventType.TIMER_FIRED:
            timer = open_timers.pop(event.get("TimerId", -1), None)
            if timer is not None:
                timer.end, timer.outcome = at, "fired"
        elif kind == EventType.EVENT_RAISED:
            since = idle_since if idle_since is not None and idle_since <= at else at
            spans.append(Span(Lane.WAITED, "event", str(event.get("Name", "")), since, at,
                              outcome="arrived"))
    for span in spans:
        if span.is_open and last is not None:
            span.end = max(span.end, last)
            if ended:
                span.outcome = "unfinished"
    return Timeline(spans, first, last)
