"""Running a host on virtual time: until idle, up to a moment, or until a condition holds.

The memory task hub knows whether any work is runnable or running and when its next hidden
work (a durable timer, a delayed retry) comes due. Idle means nothing is runnable or
running; moving the virtual clock to the next due moment makes that work runnable, and the
host's own workers then do it exactly as they would have once the wall clock got there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from devhost.clock import VirtualClock
from devhost.taskhub.memory import MemoryTaskHub
from devhost.testing.errors import HostNotIdle

__all__ = ["VirtualTime"]


class VirtualTime:
    """Drives the workers of a memory hub on a virtual clock to idle and through time."""

    def __init__(self, hub: MemoryTaskHub, clock: VirtualClock, idle_seconds: float) -> None:
        """Watch ``hub`` on ``clock``; a host still busy after ``idle_seconds`` of wall
        time is reported with ``HostNotIdle``."""
        self.hub = hub
        self.clock = clock
        self._idle_seconds = idle_seconds

    async def settle(self) -> None:
        """Return once nothing is runnable or running; ``HostNotIdle`` after the bound."""
        if not await self.hub.wait_until_idle(self._idle_seconds):
            raise HostNotIdle(f"the host still had work under way after {self._idle_seconds}"
                              " s of wall time (an activity that does not return, or work "
                              "that keeps coming due at once?)")

    def next_due(self) -> datetime | None:
        """When the next hidden work comes due (None: nothing is scheduled)."""
        return self.hub.pending_work().next_due

    async def _move_to(self, moment: datetime) -> None:
        """Move the clock forward to ``moment`` (never back)."""
        step = moment - self.clock.now()
        if step > timedelta(0):
            await self.clock.advance(step)

    async def run_until(self, moment: datetime) -> None:
        """Run everything due up to ``moment``, each piece of work at its own due time, and
        leave the clock at ``moment`` with the host idle."""
        while True:
            await self.settle()
            due = self.next_due()
            if due is None or due > moment:
                break
            await self._move_to(due)
        await self._move_to(moment)
        await self.settle()

    async def run_while(self, unmet: Callable[[], Awaitable[bool]], deadline: datetime
                        ) -> bool:
        """Skip from due time to due time while ``unmet()`` holds, up to ``deadline``.

        Returns False when the condition still is unmet at ``deadline`` (the clock is then
        at ``deadline``): nothing that could meet it comes due sooner.
        """
        while True:
            await self.settle()
            if not await unmet():
                return True
            due = self.next_due()
            if due is None or due > deadline:
                await self._move_to(deadline)
                await self.settle()
                return not await unmet()
            await self._move_to(due)
