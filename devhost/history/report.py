"""What a replay found: one divergence per instance whose code now acts otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devhost.engine.protocol import HistoryEvent

__all__ = ["Divergence", "ReplayReport"]


@dataclass(frozen=True)
class Divergence:
    """The first history event of one instance where the current code's actions differ.

    ``event_index`` is the event's position in the exported history; ``history_holds``
    says what the history recorded there and ``code_does`` what the code now does instead.
    """

    instance_id: str
    orchestrator: str
    event_index: int
    event: HistoryEvent
    history_holds: str
    code_does: str

    def text(self) -> str:
        """The divergence as the ``replay`` command prints it."""
        return (f"{self.instance_id} ({self.orchestrator}): differs at history event "
                f"{self.event_index}\n"
                f"  history holds: {self.history_holds}\n"
                f"  code now:      {self.code_does}")

    def to_json(self) -> dict[str, Any]:
        """The divergence as JSON."""
        return {"instanceId": self.instance_id, "name": self.orchestrator,
                "eventIndex": self.event_index, "event": self.event,
                "historyHolds": self.history_holds, "codeDoes": self.code_does}


@dataclass
class ReplayReport:
    """Every replayed instance's id, and the divergences found (none: ``ok``)."""

    replayed: list[str] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every history replays to the actions it recorded."""
        return not self.divergences

    def text(self) -> str:
        """The report as the ``replay`` command prints it."""
        count = len(self.replayed)
        if self.ok:
            return f"{count} instance(s) replayed: the current code does what each history holds"
        lines = [f"{len(self.divergences)} of {count} instance(s) replayed differently:"]
        lines += [divergence.text() for divergence in self.divergences]
        return "\n".join(lines)
