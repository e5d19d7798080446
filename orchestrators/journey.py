"""The customer's journey through an order, kept as plain data the orchestrator publishes.

Pure and replay-safe: it is rebuilt on every replay from the same decisions, so the custom
status it produces is the same each time. It never reads a clock; callers pass the
orchestration's own time.
"""

from datetime import datetime

from models.approval import ApprovalDecision
from models.orchestration import (
    ApprovalOutcome,
    ApprovalState,
    BackendActionInput,
    BackendActionResult,
    OrderCustomStatus,
    OrderInput,
    TimelineEntry,
)
from models.stages import Stage

FINAL_STAGE_BY_OUTCOME = {
    ApprovalOutcome.APPROVED: Stage.FINISHED,
    ApprovalOutcome.DECLINED: Stage.CANCELLED,
    # An approval payload that does not validate is taken as "not approved": the safe
    # reading is never to apply a change the customer was not clearly asked to accept.
    ApprovalOutcome.INVALID: Stage.CANCELLED,
    ApprovalOutcome.EXPIRED: Stage.EXPIRED,
}


def read_decision(payload: object) -> tuple[ApprovalOutcome, str | None]:
    """Interpret an ``Approval`` event's payload.

    The SDK client JSON-encodes event data twice, so the payload usually arrives as JSON
    text; a dict is accepted too (the management API can send either). Anything that does
    not validate is ``INVALID``, which ends the wait instead of waiting again.
    """
    try:
        if isinstance(payload, (str, bytes)):
            decision = ApprovalDecision.model_validate_json(payload)
        else:
            decision = ApprovalDecision.model_validate(payload)
    except ValueError:
        return ApprovalOutcome.INVALID, None
    outcome = ApprovalOutcome.APPROVED if decision.approved else ApprovalOutcome.DECLINED
    return outcome, decision.note


class OrderJourney:
    """The stages an order has reached, their pushes, and the approval request."""

    def __init__(self, order: OrderInput) -> None:
        """Start an empty journey for ``order``."""
        self._order = order
        self._timeline: list[TimelineEntry] = []
        self._approval: ApprovalState | None = None

    @property
    def stage(self) -> Stage:
        """The latest stage reached."""
        return self._timeline[-1].stage if self._timeline else Stage.RECEIVED

    def next_push(self, stage: Stage) -> BackendActionInput:
        """The push that announces ``stage``; its ``seq`` is the stage's place in the timeline."""
        return BackendActionInput(
            order_id=self._order.order_id,
            reg_id=self._order.reg_id,
            order_status=stage,
            seq=len(self._timeline) + 1,
        )

    def reach(self, pushed: BackendActionResult, at: datetime) -> None:
        """Record that the order reached the stage ``pushed`` announced, and how that went."""
        self._timeline.append(
            TimelineEntry(stage=pushed.stage, at=at, seq=pushed.seq, push=pushed.push)
        )

    def request_approval(self, at: datetime, expires_at: datetime) -> None:
        """Note that the customer was asked to accept a change, until ``expires_at``."""
        self._approval = ApprovalState(requested_at=at, expires_at=expires_at)

    def decide(self, outcome: ApprovalOutcome, note: str | None, at: datetime) -> Stage:
        """Record how the approval ended and return the stage the order ends in."""
        if self._approval is None:
            raise RuntimeError("a decision was recorded before approval was requested")
        self._approval = self._approval.model_copy(
            update={"outcome": outcome, "note": note, "decided_at": at}
        )
        return FINAL_STAGE_BY_OUTCOME[outcome]

    def custom_status(self) -> dict:
        """The custom status to publish: stage, timeline and approval, as JSON."""
        status = OrderCustomStatus(
            stage=self.stage, timeline=list(self._timeline), approval=self._approval
        )
        return status.to_json_dict()
