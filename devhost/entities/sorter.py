"""Requests from one orchestration reach its entity in the order it sent them.

The Durable extension's ``MessageSorter`` holds back a request whose predecessor from the
same sender has not arrived yet (a queue is only roughly FIFO, and a request the host had
leased when it died comes back after newer ones), and gives up waiting after the reorder
window (``EntityMessageReorderWindowInMinutes``, 30 by default). This host numbers each
execution's requests to an entity instead of timestamping them: the entity remembers, per
sending execution, the next number it expects, holds later ones in its state, and applies
them once the gap closes. A request whose predecessor was sent before the window, or that
has been held for a whole window, is not held (longer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from devhost.entities.messages import EntityRequest

__all__ = ["REORDER_WINDOW", "HeldRequest", "SenderMark", "in_sender_order"]

REORDER_WINDOW = timedelta(minutes=30)


@dataclass
class SenderMark:
    """The next request number expected from one sending execution, and when it was last
    heard from (a sender silent for a whole window is forgotten)."""

    next: int
    seen: datetime


@dataclass
class HeldRequest:
    """A request waiting for its predecessors, and since when."""

    request: EntityRequest
    since: datetime


def in_sender_order(arrived: list[EntityRequest], senders: dict[str, SenderMark],
                    held: list[HeldRequest], now: datetime
                    ) -> tuple[list[EntityRequest], list[HeldRequest]]:
    """The requests to apply now, in order, and those still held.

    ``arrived`` are the new requests in arrival order (copies of applied ones already
    removed by id); ``senders`` is updated in place. Requests held for a whole window go
    first; requests without a number (a client's signals) apply as they come, and so does a
    number below the expected one (a predecessor that came after the wait gave up).
    """
    waiting = {_key(h.request): h for h in held}
    ready: list[EntityRequest] = []

    def admit(sender: str, request: EntityRequest) -> None:
        assert request.sequence is not None
        ready.append(request)
        following = request.sequence + 1
        while (sender, following) in waiting:
            ready.append(waiting.pop((sender, following)).request)
            following += 1
        mark = senders.get(sender)
        senders[sender] = SenderMark(max(following, mark.next if mark else 1), now)

    for key in sorted(k for k, h in waiting.items() if now - h.since >= REORDER_WINDOW):
        if key in waiting:  # not admitted meanwhile, behind an earlier expired one
            admit(key[0], waiting.pop(key).request)
    for request in arrived:
        sender = request.parent_execution
        if request.sequence is None or sender is None:
            ready.append(request)
            continue
        mark = senders.get(sender)
        expected = mark.next if mark is not None else 1
        if request.sequence < expected:
            ready.append(request)
        elif request.sequence > expected and not _predecessor_expired(request, now):
            waiting.setdefault((sender, request.sequence), HeldRequest(request, now))
        else:
            admit(sender, request)
    holding = {sender for sender, _ in waiting}
    for sender in [s for s, m in senders.items()
                   if now - m.seen >= REORDER_WINDOW and s not in holding]:
        del senders[sender]
    return ready, list(waiting.values())


def _key(request: EntityRequest) -> tuple[str, int]:
    assert request.parent_execution is not None and request.sequence is not None
    return (request.parent_execution, request.sequence)


def _predecessor_expired(request: EntityRequest, now: datetime) -> bool:
    """Whether the request's predecessor was sent before the reorder window (then it is
    taken as delivered, as the extension's sorter takes it)."""
    return request.predecessor_at is not None and now - request.predecessor_at >= REORDER_WINDOW
