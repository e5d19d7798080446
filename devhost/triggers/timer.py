"""One timer function fired on its schedule, as the timer extension's ``TimerListener`` does.

At start the schedule monitor's status is read and checked for a missed occurrence
(``ScheduleMonitor.CheckPastDueAsync``): with no status yet one is written with the next
occurrence; a status whose ``Next`` no longer follows from the schedule (the schedule was
changed) is rewritten; if ``Next`` lies in the past the host was down over a due time, and
the function runs at once with ``past_due`` True (once, however many occurrences were
missed). Otherwise ``run_on_startup`` runs it at once. Then it fires at each ``Next``. After
every invocation, failed or not, the status becomes ``Last`` = the invocation time (moved up
to ``Next`` when the timer fired early), ``Next`` = the following occurrence (as
``TimerListener.InvokeJobFunction`` does). The monitor is on for schedules whose occurrences
lie a minute or more apart unless ``use_monitor`` says otherwise; without it the function
gets no ``schedule_status`` and nothing is stored.

On a real clock a late wake (the machine slept) runs one invocation, as in Azure. On a
virtual clock an advance stands for time that passed while the host ran, so every
occurrence it passes runs, in order, each as if at its own time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from devhost.clock import Clock, VirtualClock
from devhost.triggers.functions import TimerFunction
from devhost.triggers.invocation import Invocation, timer_trigger_value
from devhost.triggers.schedule_status import NEVER, ScheduleStatus, StatusStore
from devhost.triggers.schedules import NEVER_FIRES, Schedule

__all__ = ["TimerRunner", "monitor_default", "past_due_status"]

log = logging.getLogger(__name__)

# Azure turns the monitor on by default for schedules at least this far apart.
MONITOR_MIN_INTERVAL = timedelta(minutes=1)


def monitor_default(schedule: Schedule, now: datetime) -> bool:
    """Whether Azure monitors this schedule when ``use_monitor`` is not given."""
    first = schedule.next_after(now)
    return first == NEVER_FIRES or schedule.next_after(first) - first >= MONITOR_MIN_INTERVAL


def past_due_status(schedule: Schedule, now: datetime,
                    status: ScheduleStatus | None) -> tuple[ScheduleStatus, bool, bool]:
    """The status to start from, whether it must be written, and whether a due time was
    missed (``CheckPastDueAsync``)."""
    if status is None:
        return ScheduleStatus(NEVER, schedule.next_after(now), now), True, False
    changed = False
    if status.last != NEVER:
        expected, basis = schedule.next_after(status.last), status.last
    elif status.last_updated != NEVER:
        expected, basis = schedule.next_after(status.last_updated), status.last_updated
    else:
        expected, basis = schedule.next_after(now), now
    if status.next != expected:
        # A changed schedule whose next occurrence has passed is not past due.
        if now > expected:
            expected, basis = schedule.next_after(now), now
        status = ScheduleStatus(NEVER, expected, basis)
        changed = True
    return status, changed, now > status.next


class TimerRunner:
    """Fires one timer function on ``clock`` until stopped."""

    def __init__(self, function: TimerFunction, schedule: Schedule, clock: Clock,
                 store: StatusStore | None, invocation: Invocation) -> None:
        """``store`` None: the schedule monitor is off for this function."""
        self.function = function
        self.schedule = schedule
        self.clock = clock
        self.store = store
        self.invocation = invocation
        self.status = ScheduleStatus()
        self._stop = asyncio.Event()

    async def start(self) -> None:
        """Check for a missed occurrence and run at once if due (or on startup)."""
        now = self.clock.now()
        past_due = False
        if self.store is not None:
            recorded = await self.store.get(self.function.name)
            self.status, changed, past_due = past_due_status(self.schedule, now, recorded)
            if changed:
                await self.store.put(self.function.name, self.status)
        else:
            self.status = ScheduleStatus(NEVER, self.schedule.next_after(now), NEVER)
        if past_due:
            log.info("timer %s is past due (its next run was %s): running it now",
                     self.function.name, self.status.next.isoformat())
            await self._fire(now, past_due=True)
        elif self.function.run_on_startup:
            await self._fire(now, on_startup=True)

    async def run(self) -> None:
        """Fire at each next occurrence until :meth:`stop`."""
        catch_up = isinstance(self.clock, VirtualClock)
        while not self._stop.is_set():
            due = self.status.next
            if due == NEVER_FIRES:
                log.warning("timer %s: its schedule never fires", self.function.name)
                await self._stop.wait()
                return
            await self.clock.sleep_until(due, self._stop)
            if self._stop.is_set():
                return
            await self._fire(due if catch_up else self.clock.now())

    async def stop(self) -> None:
        """End :meth:`run` (an invocation under way finishes first)."""
        self._stop.set()
        if isinstance(self.clock, VirtualClock):
            await self.clock.poke()

    async def _fire(self, invoked_at: datetime, *, past_due: bool = False,
                    on_startup: bool = False) -> None:
        shown = self.status if self.store is not None else None
        try:
            await self.invocation.run(timer_trigger_value(self.function, shown, past_due))
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed run never stops the schedule (nor is it retried), as in Azure.
            log.exception("timer function %s failed", self.function.name)
        adjusted = invoked_at
        if not past_due and not on_startup and self.status.next > invoked_at:
            adjusted = self.status.next
        self.status = ScheduleStatus(adjusted, self.schedule.next_after(adjusted), adjusted)
        if self.store is not None:
            try:
                await self.store.put(self.function.name, self.status)
            except Exception as err:  # noqa: BLE001 - the schedule goes on without it
                log.warning("timer %s: its status was not saved: %s", self.function.name, err)
